/**
 * Issue 8, phase 2: a recipe whose hosts are `ssh:` hosts runs end to end through the CLI, against
 * real OpenSSH servers in namespaces acting as remote machines. The same recipe on simulated hosts
 * gives the same check results and the same kernel objects; `down` leaves nothing on either; one
 * SSH connection per host per command; an unreachable host fails before any change anywhere; a
 * failure on one host rolls back every host.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { startSshLab, type SshLab } from '../../support/sshd.js';
import { chainRecipe, cliIn, twoGuestChecks } from '../../support/ssh-recipes.js';
import { StateStore } from '../../../lib/engine/state.js';
import { processStartTime } from '../../../lib/engine/procs.js';
import { CLI_ARGV, ROOT } from '../../support/cli.js';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'tcpdump', 'iperf3'];
/** The ownership tag of a lab kept in `stateDir` (scoped to the state directory, lib/engine/state.ts). */
const tagIn = (stateDir: string) => (lab: string) => `geneve-lab:${lab}${new StateStore(stateDir).scope}`;

/**
 * `ip -j …`, optionally in the mount namespace of process `pid`: namespaces made on an SSH "machine"
 * are mounted in its sshd's mount namespace (as on a real remote host, invisible from here).
 */
function ipJson(args: string[], pid?: number): any[] {
  const argv = pid ? ['nsenter', '-t', String(pid), '-m', 'ip', '-j', ...args] : ['ip', '-j', ...args];
  const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}
const netnsNames = (): string[] => ipJson(['netns', 'list']).map((n) => n.name);

/** The lab's links in one namespace, with what does not depend on placement (no ifindex, MAC, alias). */
function labLinks(ns: string, tag: string, rename: (n: string) => string, skip: string[] = []) {
  return ipJson(['-n', ns, '-d', 'link', 'show'])
    .filter((l) => l.ifalias === tag && !skip.includes(l.ifname))
    .map((l) => ({
      ifname: rename(l.ifname),
      kind: l.linkinfo?.info_kind,
      slave: l.linkinfo?.info_slave_kind,
      master: l.master ? rename(l.master) : undefined,
      mtu: l.mtu,
      operstate: l.operstate,
      flags: l.flags,
      // The tunnel's kernel attributes (VNI, endpoints, port, ttl, ...); a bridge's carry its MAC.
      vxlan: l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined,
      port: l.linkinfo?.info_slave_kind === 'bridge' ? l.linkinfo.info_slave_data?.state : undefined,
    }))
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
}

/** A guest namespace: its interface, global addresses and routes. */
function guestState(ns: string, pid?: number) {
  const links = ipJson(['-n', ns, '-d', 'link', 'show'], pid).map((l) => ({ ifname: l.ifname, mtu: l.mtu, operstate: l.operstate, kind: l.linkinfo?.info_kind }));
  const addrs = ipJson(['-n', ns, 'addr', 'show'], pid)
    .flatMap((e) => (e.addr_info ?? []).map((a: any) => `${e.ifname} ${a.local}/${a.prefixlen}`))
    .filter((a: string) => !/ fe80:/.test(a))
    .sort();
  const routes = ipJson(['-n', ns, 'route', 'show'], pid).map((r) => `${r.dst} dev ${r.dev} ${r.scope ?? ''} ${r.prefsrc ?? ''}`).sort();
  return { links, addrs, routes };
}

/** Everything the lab made, keyed by placement-independent names. */
function snapshot(tag: string, lab: string, hostNs: (box: string) => string, prefix: string, boxPid: (box: string) => number | undefined = () => undefined) {
  const rename = (n: string) => (prefix && n.startsWith(prefix) ? n.slice(prefix.length) : n);
  return {
    'box-1': labLinks(hostNs('box-1'), tag, rename, ['lo', 'underlay']), // lo: a simulated host's namespace tag
    'box-2': labLinks(hostNs('box-2'), tag, rename, ['lo', 'underlay']),
    g1: guestState(`gl-${lab}-g1`, boxPid('box-1')),
    g2: guestState(`gl-${lab}-g2`, boxPid('box-2')),
  };
}

const CHECKS = twoGuestChecks('box-1', 'vxlan.vni: 101, udp.dstport: 4789');

const checkSummary = (stdout: string) =>
  (JSON.parse(stdout).checks as { name: string; status: string; message?: string; figures: Record<string, unknown> }[]).map((c) => ({
    name: c.name,
    status: c.status,
    message: c.message,
    ...(c.figures.loss_pct !== undefined ? { loss_pct: c.figures.loss_pct } : {}),
  }));

async function world(t: { teardown(fn: () => unknown): void }): Promise<{ ssh: SshLab; dir: string; cli: (ns: string | undefined, args: string[]) => ReturnType<typeof cliIn>; boxTagged: (box: string, lab: string) => string[]; tagOf: (lab: string) => string }> {
  const ssh = await startSshLab(randomLabName('sb'), 2);
  const dir = mkdtempSync(join(tmpdir(), 'gl-sshlab-'));
  const stateDir = join(dir, 'state');
  t.teardown(async () => {
    await ssh.teardown();
    rmSync(dir, { recursive: true, force: true });
  });
  const box = (name: string) => ssh.boxes.find((b) => b.name === name)!;
  return {
    ssh,
    dir,
    cli: (ns, args) => cliIn(ns, ['--state-dir', stateDir, ...args]),
    tagOf: tagIn(stateDir),
    boxTagged: (name, lab) => ipJson(['-n', box(name).ns, 'link', 'show']).filter((l) => l.ifalias === tagIn(stateDir)(lab)).map((l) => l.ifname),
  };
}

privTest(
  'the same recipe on simulated hosts and on SSH hosts: same checks, same kernel objects, down leaves nothing, one connection per host per command',
  async (t) => {
    t.timeout(360_000);
    const w = await world(t);
    const localLab = randomLabName('sl');
    const sshLab = randomLabName('sr');
    const localFile = join(w.dir, 'local.yaml');
    const sshFile = join(w.dir, 'ssh.yaml');
    writeFileSync(localFile, chainRecipe({ lab: localLab, hosts: 2, checks: CHECKS }));
    writeFileSync(sshFile, chainRecipe({ lab: sshLab, hosts: 2, ssh: w.ssh, checks: CHECKS }));
    t.teardown(() => {
      w.cli(undefined, ['down', localLab]);
      w.cli(w.ssh.clientNs, ['down', sshLab]);
    });

    const local = w.cli(undefined, ['up', localFile, '--json']);
    t.is(local.code, 0, local.stdout + local.stderr);
    for (const b of ['box-1', 'box-2']) t.deepEqual(await w.ssh.acceptedConnections(b), [], 'no connection before the SSH run');
    const remote = w.cli(w.ssh.clientNs, ['up', sshFile, '--json']);
    t.is(remote.code, 0, remote.stdout + remote.stderr);

    // Exactly one SSH connection per host for the whole `up` (plan, discovery, build, checks).
    for (const b of ['box-1', 'box-2']) t.is((await w.ssh.acceptedConnections(b)).length, 1, `connections to ${b} during up`);

    const localChecks = checkSummary(local.stdout);
    t.deepEqual(localChecks.map((c) => c.status), ['passed', 'passed', 'passed', 'passed'], JSON.stringify(localChecks));
    t.deepEqual(checkSummary(remote.stdout), localChecks);

    const boxNs = (b: string) => w.ssh.boxes.find((x) => x.name === b)!.ns;
    const simulated = snapshot(w.tagOf(localLab), localLab, (b) => `gl-${localLab}-${b}`, '');
    const overSsh = snapshot(w.tagOf(sshLab), sshLab, boxNs, `${sshLab}-`, (b) => w.ssh.boxes.find((x) => x.name === b)!.pid);
    t.true(simulated['box-1'].length >= 3, JSON.stringify(simulated['box-1'])); // bridge, guest port, tunnel
    t.deepEqual(overSsh, simulated);
    // On the SSH hosts the lab's links carry the lab's name (they share the machine's namespace).
    t.deepEqual(w.boxTagged('box-1', sshLab).sort(), [`${sshLab}-g1`, `${sshLab}-sw1`, `${sshLab}-t1`]);

    const localDown = w.cli(undefined, ['down', localLab]);
    t.is(localDown.code, 0, localDown.stderr);
    const remoteDown = w.cli(w.ssh.clientNs, ['down', sshLab]);
    t.is(remoteDown.code, 0, remoteDown.stdout + remoteDown.stderr);
    for (const b of ['box-1', 'box-2']) {
      t.deepEqual(w.boxTagged(b, sshLab), [], `nothing of the lab left on ${b}`);
      t.is((await w.ssh.acceptedConnections(b)).length, 2, `down reconnected once to ${b}`);
    }
    t.deepEqual(netnsNames().filter((n) => n.startsWith(`gl-${sshLab}-`) || n.startsWith(`gl-${localLab}-`)), []);
    // The remote machines still have exactly what they had: lo and eth0.
    for (const b of w.ssh.boxes) t.deepEqual(ipJson(['-n', b.ns, 'link', 'show']).map((l) => l.ifname).sort(), ['eth0', 'lo']);
  },
  { tools: TOOLS },
);

privTest(
  'an unreachable SSH host fails before any change on any host (exit 3), and a failure on one host rolls back every host',
  async (t) => {
    t.timeout(240_000);
    const w = await world(t);
    const lab = randomLabName('su');
    const file = join(w.dir, 'unreachable.yaml');
    writeFileSync(file, chainRecipe({ lab, hosts: 2, ssh: w.ssh, sshExtra: { 'box-2': 'port: 2222' } }));
    t.teardown(() => w.cli(w.ssh.clientNs, ['down', lab]));
    const r = w.cli(w.ssh.clientNs, ['up', file]);
    t.is(r.code, 3, r.stdout + r.stderr);
    t.regex(r.stderr, /host "box-2" could not be reached over SSH .*port 2222.*connection refused/);
    t.deepEqual(w.boxTagged('box-1', lab), [], 'box-1 was not touched');
    t.deepEqual(netnsNames().filter((n) => n.startsWith(`gl-${lab}-`)), []);

    // A guest route on box-2 whose gateway is not on any link: box-1 is fully built by then.
    const lab2 = randomLabName('sf');
    const file2 = join(w.dir, 'fails.yaml');
    writeFileSync(file2, chainRecipe({ lab: lab2, hosts: 2, ssh: w.ssh, guestExtra: { g2: '    routes: [{ to: 192.0.2.0/24, via: 198.51.100.254 }]' } }));
    t.teardown(() => w.cli(w.ssh.clientNs, ['down', lab2]));
    const f = w.cli(w.ssh.clientNs, ['up', file2]);
    t.not(f.code, 0);
    t.regex(f.stderr, /box-2/, 'the failure names the host');
    t.regex(f.stderr, /rolled back/, f.stderr);
    for (const b of ['box-1', 'box-2']) t.deepEqual(w.boxTagged(b, lab2), [], `rollback left nothing on ${b}`);
    t.deepEqual(netnsNames().filter((n) => n.startsWith(`gl-${lab2}-`)), []);
    t.false(existsSync(join(w.dir, 'state', 'labs', `${lab2}.json`)), 'no state left after a complete rollback');
  },
  { tools: TOOLS },
);

/** Start time of a running (not zombie) process, as the pid file writes it; undefined otherwise. */
const runningStart = (pid: number): string | undefined => processStartTime(pid)?.toString();
const until = async (f: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return f();
};

privTest(
  'kill -9 during the checks of an SSH lab (tcpdump running on box-2 over SSH), then gc: the remote helper is stopped by its pid file, a process behind a reused pid is not; the lab stays up, down leaves nothing',
  async (t) => {
    t.timeout(300_000);
    const w = await world(t);
    const stateDir = join(w.dir, 'state');
    const lab = randomLabName('sk');
    const file = join(w.dir, 'crash.yaml');
    const checks = [
      '  - name: long',
      '    ping: { from: g1, to: g2, count: 300, interval: 0.2 }',
      '  - name: wire',
      '    capture: { host: box-2, interface: underlay, during: long, at_least: 1, expect: { vxlan.vni: 101 } }',
    ].join('\n');
    writeFileSync(file, chainRecipe({ lab, hosts: 2, ssh: w.ssh, checks }));
    t.teardown(() => w.cli(w.ssh.clientNs, ['down', lab]));

    // The CLI runs where the ssh client must (the client namespace); `ip netns exec` execs into node.
    const child = spawn('ip', ['netns', 'exec', w.ssh.clientNs, process.execPath, ...CLI_ARGV, '--state-dir', stateDir, 'up', file], {
      cwd: ROOT,
      env: { ...process.env, GENEVE_LAB_PAUSE_WITH_HELPER: 'tcpdump' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    t.true(await until(() => /paused with tcpdump running/.test(stderr) || child.exitCode !== null, 180_000), `up did not start tcpdump: ${stderr}`);
    t.regex(stderr, /paused with tcpdump running/);

    // The remote tcpdump's pid file is on record (with its host) and names it: "PID START".
    const store = new StateStore(stateDir);
    const pidFile = store.readHelpers(lab).temps.find((x) => x.host === 'box-2' && x.path.endsWith('.pid'))?.path;
    t.truthy(pidFile, JSON.stringify(store.readHelpers(lab)));
    t.true(await until(() => existsSync(pidFile!), 20_000), 'the wrapper on box-2 wrote the pid file');
    const [pid, start] = readFileSync(pidFile!, 'utf8').trim().split(' ');
    t.is(runningStart(Number(pid)), start, 'the pid file names the running remote program by pid and start time');
    t.regex(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /tcpdump/);

    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    t.is(runningStart(Number(pid)), start, 'kill -9 of the CLI left the remote tcpdump running');

    // A stale pid file in the same remote directory whose pid is now someone else's (another start
    // time): gc must not signal it. The fake machines share this machine's pids.
    const bystander = spawn('sleep', ['3154'], { stdio: 'ignore' });
    t.teardown(() => void bystander.kill('SIGKILL'));
    const stale = join(dirname(pidFile!), 'reused.pid');
    writeFileSync(stale, `${bystander.pid} 1\n`);

    const gc = w.cli(w.ssh.clientNs, ['gc']);
    t.is(gc.code, 0, gc.stdout + gc.stderr);
    t.regex(gc.stdout, new RegExp(`checks of lab ${lab} \\(the lab stays up\\)`));
    t.true(await until(() => runningStart(Number(pid)) !== start, 5000), 'the remote tcpdump was stopped');
    t.false(existsSync(pidFile!), 'its pid file is gone');
    t.truthy(runningStart(bystander.pid!), 'the process behind the reused pid lives');

    const after = JSON.parse(w.cli(w.ssh.clientNs, ['status', '--json', lab]).stdout).labs;
    t.is(after[0].phase, 'up');
    const down = w.cli(w.ssh.clientNs, ['down', lab]);
    t.is(down.code, 0, down.stdout + down.stderr);
    for (const b of ['box-1', 'box-2']) t.deepEqual(w.boxTagged(b, lab), [], `nothing of the lab left on ${b}`);
    t.false(existsSync(dirname(pidFile!)), 'the remote directory of the dead connection is gone');
  },
  { tools: TOOLS },
);
