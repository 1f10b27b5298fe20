/**
 * The OVS lab lifecycle through the real CLI: `status` shows each host's OVS (bridges, ports,
 * options, errors, tunnel listeners); `down` and `gc` (after a crash) leave no daemon, bridge,
 * tap, database or namespace; a user's own OVS instance and bridge survive both.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cliSpawn } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { NOTHING_LEFT, OVS_TOOLS, leftovers, processesMentioning, recipeCopy, rootLinks } from './support.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A user's own OVS (database, ovsdb-server, ovs-vswitchd, bridge) in a namespace the lab does not own. */
function userOvs(t: import('ava').ExecutionContext) {
  const id = randomLabName('u');
  const ns = `ovsr-user-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'ovsr-user-'));
  const f = (n: string) => join(dir, n);
  const env = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  // A daemon that is exiting removes its own pidfile, possibly between a check and a read: a
  // vanished pidfile is a daemon not running (the race failed CI once, in the teardown).
  const pidOf = (file: string): number | undefined => {
    try {
      return Number(readFileSync(f(file), 'utf8').trim());
    } catch {
      return undefined;
    }
  };
  const pids = () => ['ovsdb-server.pid', 'ovs-vswitchd.pid'].map(pidOf).filter((p): p is number => p !== undefined);
  t.teardown(() => {
    spawnSync('ovs-appctl', ['-t', f('ovs-vswitchd.ctl'), 'exit', '--cleanup'], { timeout: 10_000 });
    spawnSync('ovs-appctl', ['-t', f('ovsdb-server.ctl'), 'exit'], { timeout: 10_000 });
    for (const p of pids()) if (alive(p)) process.kill(p, 'SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  run(['ip', 'netns', 'add', ns]);
  run(['ovsdb-tool', 'create', f('conf.db')]);
  const db = `unix:${f('db.sock')}`;
  run(['ip', 'netns', 'exec', ns, 'ovsdb-server', f('conf.db'), `--remote=punix:${f('db.sock')}`, `--pidfile=${f('ovsdb-server.pid')}`, `--unixctl=${f('ovsdb-server.ctl')}`, `--log-file=${f('ovsdb-server.log')}`, '--no-chdir', '--detach'], env);
  run(['ovs-vsctl', `--db=${db}`, '--no-wait', 'init'], env);
  run(['ip', 'netns', 'exec', ns, 'ovs-vswitchd', db, `--pidfile=${f('ovs-vswitchd.pid')}`, `--unixctl=${f('ovs-vswitchd.ctl')}`, `--log-file=${f('ovs-vswitchd.log')}`, '--no-chdir', '--detach'], env);
  run(['ovs-vsctl', `--db=${db}`, '--timeout=10', 'add-br', 'userbr', '--', 'set', 'Bridge', 'userbr', 'datapath_type=netdev'], env);
  const intact = () => pids().length === 2 && pids().every(alive) && spawnSync('ovs-vsctl', [`--db=${db}`, '--timeout=5', 'br-exists', 'userbr'], { env: { ...process.env, ...env } }).status === 0
    && spawnSync('ip', ['-n', ns, 'link', 'show', 'userbr']).status === 0;
  return { ns, intact };
}

privTest('status shows each host\'s OVS bridges, ports, options and tunnel listeners; down removes every daemon, bridge, tap, db and namespace; the user\'s OVS survives', (t) => {
  t.timeout(15 * 60_000);
  const user = userOvs(t);
  t.true(user.intact(), 'the user\'s OVS is up before the lab');
  const rootBefore = rootLinks();
  const c = recipeCopy(t, 'quickstart.yaml');
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);

  const st = c.g(['status', c.lab]);
  t.is(st.code, 0, st.stderr);
  t.regex(st.stdout, /OVS on host box-1 \(netns gl-\S+-box-1\)/);
  t.regex(st.stdout, /Bridge sw1 \(datapath (netdev|system), lab \S+\)/);
  t.regex(st.stdout, /Interface tun0 type: geneve ofport \d+\n\s+options: \{key=123, remote_ip=192\.0\.2\.12\}/);
  t.regex(st.stdout, /Interface tun0 type: geneve ofport \d+\n\s+options: \{key=123, remote_ip=192\.0\.2\.11\}/);
  t.regex(st.stdout, /genev_sys_6081 udp 6081/);
  t.notRegex(st.stdout, /error:/, 'no interface has an error');
  const js = JSON.parse(c.g(['status', '--json', c.lab]).stdout).labs;
  const box1 = js[0].ovs.find((o: any) => o.host === 'box-1');
  const tun = box1.status.bridges.find((b: any) => b.name === 'sw1').ports.find((p: any) => p.name === 'tun0').interfaces[0];
  t.deepEqual([tun.type, tun.options], ['geneve', { key: '123', remote_ip: '192.0.2.12' }]);

  // While up: two daemons per host, each under the lab's run directory, inside the host namespace.
  const daemons = processesMentioning(c.stateDir).filter((l) => /ovs-vswitchd|ovsdb-server/.test(l));
  t.is(daemons.length, 4, daemons.join('\n'));
  const runDir = join(c.stateDir, 'run', c.lab);
  t.true(readdirSync(runDir).some((d) => d.startsWith('ovs-')));

  const down = c.g(['down', c.lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(leftovers(c), NOTHING_LEFT, 'no daemon, run dir (db, sockets, pidfiles), or namespace (with its taps and bridges) is left');
  t.deepEqual(rootLinks(), rootBefore, 'no tap or bridge in the root namespace');
  t.true(user.intact(), 'the user\'s own OVS instance and bridge survive down');
}, OVS_TOOLS);

/**
 * `gc` only collects labs of its own state directory: labs kept elsewhere (other test files run
 * at the same time with their own directories) carry a different tag scope and are left alone.
 */
const gcTest = (title: string, fn: (t: import('ava').ExecutionContext) => Promise<void>) => privTest(title, fn, OVS_TOOLS);

gcTest('gc after a crash (kill -9 mid-up, OVS already running) stops the lab\'s OVS daemons and removes everything; the user\'s OVS survives', async (t) => {
  t.timeout(15 * 60_000);
  const user = userOvs(t);
  const c = recipeCopy(t, 'quickstart.yaml');
  // Step numbers of the quickstart plan: 8 and 16 start OVS on box-1/box-2; pause after the switches (23).
  const plan = JSON.parse(c.g(['plan', '--format', 'json', c.file]).stdout) as { steps: { id: number; op: { op: string } }[] };
  const lastStart = Math.max(...plan.steps.filter((s) => s.op.op === 'ovs.start').map((s) => s.id));
  const pauseAt = lastStart + 3;
  const child = cliSpawn(['--state-dir', c.stateDir, 'up', '--no-checks', c.file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(pauseAt) });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  t.teardown(() => void child.kill('SIGKILL'));
  const deadline = Date.now() + 150_000;
  while (!/paused after step/.test(err) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.regex(err, new RegExp(`paused after step ${pauseAt}`), err);
  t.is(processesMentioning(c.stateDir).filter((l) => /ovs-vswitchd|ovsdb-server/.test(l)).length, 4, 'both hosts\' OVS daemons run');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));

  const gc = c.g(['gc']);
  t.is(gc.code, 0, gc.stdout + gc.stderr);
  t.regex(gc.stdout, new RegExp(`lab ${c.lab}`));
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(netnsList().filter((n) => n.includes(c.lab)), []);
  t.true(user.intact(), 'the user\'s own OVS instance and bridge survive gc');
  // Nothing of ours in the process table (belt and braces: by name too).
  t.deepEqual(execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`/run/${c.lab}/`)), []);
});
