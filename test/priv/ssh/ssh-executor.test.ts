/**
 * SshExecutor against real OpenSSH servers running in namespaces that stand for remote machines.
 * Oracles: the servers' own logs (accepted connections), `ss`, `pgrep`, files on disk.
 */
import { execa } from 'execa';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { startSshLab, type SshLab } from '../../support/sshd.js';
import { SshExecutor, SshUnreachableError, openSsh, preflight, removeRemoteLeftovers } from '../../../lib/exec/ssh.js';
import { ConnectionFiles, sweepConnections } from '../../../lib/remote/connections.js';
import { OpError } from '../../../lib/errors.js';
import { discoverInterface } from '../../../lib/remote/discover.js';

const TOOLS = { tools: ['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'pgrep'] };

async function withLab(t: ExecutionContext, boxes = 2): Promise<SshLab> {
  const lab = await startSshLab(randomLabName('s'), boxes);
  t.teardown(() => lab.teardown());
  return lab;
}

/** Processes whose command line contains `needle`, anywhere on this machine (the "remote" boxes share it). */
async function processesMatching(needle: string): Promise<string[]> {
  const r = await execa('pgrep', ['-a', '-f', needle], { reject: false });
  return String(r.stdout).split('\n').filter((l) => l && !l.includes('pgrep'));
}

/** ssh CLIENT processes (masters included) that use this lab's files — not its sshd servers. */
async function sshClientsOf(dir: string): Promise<string[]> {
  return (await processesMatching(dir)).filter((l) => /^\d+ ssh /.test(l));
}

privTest('ssh: argv with spaces, quotes, $, backticks, newlines and A=b survives the remote shell', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1'));
  t.teardown(() => ex.close());
  const words = ['a b', "it's", '$HOME', '`id`', '"q"', '', 'x;y|z&', '*', '~', 'new\nline', '\\n', '-n'];
  const r = await ex.run(['printf', '<%s>', ...words]);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, words.map((w) => `<${w}>`).join(''));
  // A first word that looks like an assignment is still the program name.
  const a = await ex.run(['A=b', 'x']);
  t.is(a.exitCode, 127);
  t.regex(a.stderr, /A=b/);
  // It really runs on the box: the box's own address is there.
  const ip = await ex.run(['ip', '-j', 'addr', 'show', 'dev', 'eth0']);
  t.true(ip.stdout.includes('198.51.100.11'), ip.stdout);
  t.is(ex.sudo, false, 'root login needs no sudo');
  // stdin and environment.
  t.is((await ex.run(['cat'], { input: 'hello\nworld' })).stdout, 'hello\nworld');
  t.is((await ex.run(['sh', '-c', 'printf %s "$FOO"'], { env: { FOO: "x 'y' $z" } })).stdout, "x 'y' $z");
}, TOOLS);

privTest('ssh: failures carry the host name and the remote stderr; a remote exit 255 is not a connection error', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1'));
  t.teardown(() => ex.close());
  const r = await ex.run(['ip', 'link', 'add', 'x', 'type', 'no-such-kind']);
  t.not(r.exitCode, 0);
  t.regex(r.stderr, /no-such-kind|Unknown device type|Error/i);
  const err = await t.throwsAsync(ex.runOk(['sh', '-c', 'echo remote-oops >&2; exit 3'], 'link x'), { instanceOf: OpError });
  t.regex(err!.message, /box-1/);
  t.regex(err!.message, /remote-oops/);
  t.is((err as OpError).failure.exitCode, 3);
  const e255 = await ex.run(['sh', '-c', 'exit 255']);
  t.is(e255.exitCode, 255);
}, TOOLS);

privTest('ssh: one TCP connection per host for many commands (counted in sshd logs and ss)', async (t) => {
  const lab = await withLab(t, 2);
  const execs = [new SshExecutor(lab.spec('box-1')), new SshExecutor(lab.spec('box-2'))];
  t.teardown(() => Promise.all(execs.map((e) => e.close())).then(() => undefined));
  await preflight(execs);
  for (const ex of execs) {
    for (let i = 0; i < 15; i++) t.is((await ex.run(['true'])).exitCode, 0);
    // and some concurrently
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => ex.run(['echo', String(i)])));
    t.deepEqual(rs.map((r) => r.stdout.trim()), ['0', '1', '2', '3', '4', '5', '6', '7']);
  }
  for (const box of lab.boxes) {
    const conns = await lab.acceptedConnections(box.name);
    t.is(conns.length, 1, `${box.name} accepted: ${conns.join('; ')}`);
    const ss = await execa('ip', ['netns', 'exec', box.ns, 'ss', '-Htn', 'state', 'established', '( sport = :22 )']);
    t.is(String(ss.stdout).trim().split('\n').filter(Boolean).length, 1, String(ss.stdout));
  }
  t.log(`sessions per host: 24+probe over ${(await lab.acceptedConnections('box-1')).length} connection`);
}, TOOLS);

privTest('ssh: an unreachable host fails preflight with a clear message and no master stays open', async (t) => {
  const lab = await withLab(t, 1);
  const good = new SshExecutor(lab.spec('box-1'));
  const dead = new SshExecutor({ ...lab.spec('box-1'), host: 'box-9', target: 'root@198.51.100.99', connectTimeoutSec: 2 });
  const refused = new SshExecutor({ ...lab.spec('box-1'), host: 'box-8', port: 2222 });
  t.teardown(() => Promise.all([good, dead, refused].map((e) => e.close())).then(() => undefined));
  const err = await t.throwsAsync(preflight([good, dead, refused]), { instanceOf: SshUnreachableError });
  t.log(err!.message);
  t.regex(err!.message, /host "box-9" could not be reached over SSH \(root@198\.51\.100\.99\).*(timed out|no route)/);
  t.regex(err!.message, /host "box-8" could not be reached .*connection refused.*port 2222/);
  t.notRegex(err!.message, /box-1/);
  t.false(good.isOpen, 'the reachable host was closed again');
  t.is((err as SshUnreachableError).exitCode, 3);
  // Only this test's masters (they name this lab's known_hosts): other tests may run ssh meanwhile.
  t.deepEqual(await sshClientsOf(lab.dir), []);
}, TOOLS);

privTest('ssh: host keys are checked; accept-new only when asked', async (t) => {
  const lab = await withLab(t, 1);
  // A known_hosts with another key for the address: refused.
  const wrong = `${lab.dir}/wrong_known_hosts`;
  const other = (await readFile(`${lab.clientKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
  await writeFile(wrong, `198.51.100.11 ${other}\n`);
  const e1 = await t.throwsAsync(openSsh(lab.spec('box-1', { knownHosts: wrong })), { instanceOf: SshUnreachableError });
  t.regex(e1!.message, /host key/);
  // An empty known_hosts: refused without accept-new, accepted and recorded with it.
  const empty = `${lab.dir}/empty_known_hosts`;
  await writeFile(empty, '');
  const e2 = await t.throwsAsync(openSsh(lab.spec('box-1', { knownHosts: empty })), { instanceOf: SshUnreachableError });
  t.regex(e2!.message, /host key is not trusted.*accept_new_host_key/);
  const ex = await openSsh(lab.spec('box-1', { knownHosts: empty, acceptNewHostKey: true }));
  t.teardown(() => ex.close());
  t.is((await ex.run(['true'])).exitCode, 0);
  t.regex(await readFile(empty, 'utf8'), /^198\.51\.100\.11 ssh-ed25519 /m);
}, TOOLS);

privTest('ssh: start()/stop() of remote long-running processes leaves nothing behind', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1'));
  t.teardown(() => ex.close());
  // This executor's own remote temp dir (other tests may use SSH at the same time).
  const remoteDir = (ex as unknown as { remoteDir: string }).remoteDir;
  t.regex(remoteDir, /^\/tmp\/geneve-lab-ssh\./);
  // A marker argument so we can find exactly our process.
  const bg = ex.start(['sleep', '3137']);
  t.is(await (async () => { for (let i = 0; i < 50; i++) { if ((await processesMatching('sleep 3137')).length) return true; await new Promise((r) => setTimeout(r, 100)); } return false; })(), true);
  const res = await bg.stop();
  t.not(res.exitCode, 0);
  t.deepEqual(await processesMatching('sleep 3137'), []);

  // stop() right after start(), before the remote side wrote its pid
  const quick = ex.start(['sleep', '3138']);
  await quick.stop();
  t.deepEqual(await processesMatching('sleep 3138'), []);

  // A real server: iperf3 listening in the box, stopped remotely.
  if ((await ex.run(['sh', '-c', 'command -v iperf3'])).exitCode === 0) {
    const srv = ex.start(['iperf3', '-s', '-p', '5917']);
    let listening = false;
    for (let i = 0; i < 50 && !listening; i++) {
      listening = (await ex.run(['ss', '-Hltn', '( sport = :5917 )'])).stdout.includes('5917');
      if (!listening) await new Promise((r) => setTimeout(r, 100));
    }
    t.true(listening, 'iperf3 listens on the box');
    await srv.stop();
    t.deepEqual(await processesMatching('iperf3 -s -p 5917'), []);
  } else t.log('iperf3 not installed: iperf3 part skipped');

  // A process that ends by itself resolves done and removes its pid file.
  const short = ex.start(['sh', '-c', 'echo out; echo err >&2; exit 4']);
  const sr = await short.done;
  t.is(sr.exitCode, 4);
  t.is(sr.stdout.trim(), 'out');
  t.is(sr.stderr.trim(), 'err');
  const left = await ex.run(['sh', '-c', 'ls "$1" 2>/dev/null | grep -c pid || true', 'sh', remoteDir]);
  t.is(left.stdout.trim(), '0');

  // A remote timeout ends the remote process too.
  const tr = await ex.run(['sleep', '3139'], { timeoutMs: 800 });
  t.true(tr.timedOut);
  t.deepEqual(await processesMatching('sleep 3139'), []);

  // close() stops what is still running and removes the remote temp dir and the master.
  ex.start(['sleep', '3140']);
  await new Promise((r) => setTimeout(r, 500));
  await ex.close();
  t.deepEqual(await processesMatching('sleep 3140'), []);
  t.deepEqual(await sshClientsOf(lab.dir), []);
  t.is((await execa('sh', ['-c', 'test -e "$1" && echo exists || echo gone', 'sh', remoteDir])).stdout.trim(), 'gone');
}, TOOLS);

privTest('ssh: jump host — box-2 reached through box-1 (box-2 sees the connection from box-1)', async (t) => {
  const lab = await withLab(t, 2);
  const ex = await openSsh(lab.spec('box-2', { jump: 'root@198.51.100.11' }));
  t.teardown(() => ex.close());
  t.true((await ex.run(['ip', '-br', 'addr'])).stdout.includes('198.51.100.12'));
  const conns = await lab.acceptedConnections('box-2');
  t.is(conns.length, 1);
  t.regex(conns[0]!, /Connection from 198\.51\.100\.11 /);
  t.is((await lab.acceptedConnections('box-1')).length, 1);
}, TOOLS);

privTest('ssh: privilege "sudo" runs every command through sudo -n (env, stdin, start/stop included)', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1', { privilege: 'sudo' }));
  t.teardown(() => ex.close());
  t.true(ex.sudo);
  // The parent of the remote command is sudo: it really went through it.
  const r = await ex.run(['sh', '-c', 'printf "%s %s" "$(id -u)" "$(cat /proc/$PPID/comm)"']);
  t.is(r.stdout, '0 sudo');
  t.is((await ex.run(['sh', '-c', 'printf %s "$FOO"'], { env: { FOO: 'a b' } })).stdout, 'a b');
  t.is((await ex.run(['cat'], { input: 'via sudo' })).stdout, 'via sudo');
  const bg = ex.start(['sleep', '3141']);
  await new Promise((res) => setTimeout(res, 500));
  t.is((await processesMatching('sleep 3141')).length > 0, true);
  await bg.stop();
  t.deepEqual(await processesMatching('sleep 3141'), []);
}, { tools: [...TOOLS.tools, 'sudo'] });

privTest('ssh: 30 concurrent commands on one connection to a server with the default MaxSessions (10)', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1'));
  t.teardown(() => ex.close());
  const bg = ex.start(['sleep', '3143']); // holds one session meanwhile
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => ex.run(['sh', '-c', `sleep 0.2; echo ${i}`])));
  t.deepEqual(rs.map((r) => r.exitCode), Array(30).fill(0), rs.map((r) => r.stderr).join(''));
  t.deepEqual(rs.map((r) => r.stdout.trim()), Array.from({ length: 30 }, (_, i) => String(i)));
  await bg.stop();
  t.is((await lab.acceptedConnections('box-1')).length, 1);
}, TOOLS);

privTest('ssh: a process that exits without close() leaves no master, remote process or temp dir', async (t) => {
  const lab = await withLab(t, 1);
  const spec = lab.spec('box-1');
  const child = await execa('node', ['--import', 'tsx', new URL('../../support/ssh-exit-child.ts', import.meta.url).pathname, JSON.stringify(spec), '3151'], {
    reject: false,
    timeout: 60_000,
  });
  t.is(child.exitCode, 0, String(child.stderr));
  t.is(String(child.stdout).trim(), 'started');
  t.deepEqual(await processesMatching('sleep 3151'), []);
  // This test's master names this lab's known_hosts; other tests may hold masters of their own.
  t.deepEqual(await sshClientsOf(lab.dir), []);
}, TOOLS);

privTest('ssh: after kill -9 of a process with an open connection, gc\'s sweep removes its master, session clients, remote process and both directories, by the record — and nothing of a live connection', async (t) => {
  const lab = await withLab(t, 1);
  const spec = lab.spec('box-1');
  const ledgerDir = await mkdtemp(join(tmpdir(), 'gl-ledger-'));
  t.teardown(() => rm(ledgerDir, { recursive: true, force: true }));
  const ledger = new ConnectionFiles(ledgerDir);
  // A connection of a live process (this one) in the same record directory: the sweep must leave it.
  const live = new SshExecutor(spec, { ledger });
  await live.open();
  t.teardown(() => live.close());
  const mine = ledger.list();
  t.is(mine.length, 1, 'an open connection is on record');
  t.is(mine[0]!.owner.pid, process.pid);

  const child = execa('node', ['--import', 'tsx', new URL('../../support/ssh-exit-child.ts', import.meta.url).pathname, JSON.stringify(spec), '3152', '--ledger', ledgerDir, '--hang'], { reject: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not open its connection')), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const theirs = ledger.list().find((r) => r.owner.pid === child.pid);
  t.truthy(theirs, 'the child\'s connection is on record');
  const rec = theirs!;
  t.true(existsSync(rec.localDir) && existsSync(rec.remoteDir), 'its local and remote directories exist');
  t.true(readdirSync(rec.remoteDir).some((f) => f.endsWith('.pid')), 'the remote process has its pid file');
  t.true((await sshClientsOf(rec.controlPath)).length >= 2, 'its master and the session of `sleep 3152` run');
  t.true((await processesMatching('sleep 3152')).some((l) => /^\d+ sleep 3152$/.test(l)), 'the remote sleep runs');
  child.kill('SIGKILL');
  await child;

  // kill -9 left everything behind: that is what the sweep is for.
  t.true(existsSync(rec.localDir) && existsSync(rec.remoteDir));
  // A pid file whose pid now belongs to someone else (same pid, another start time: a reused pid)
  // must not get that process killed. The boxes share this machine's pids, so a local sleep will do.
  const bystander = execa('sleep', ['3153'], { reject: false });
  t.teardown(() => void bystander.kill('SIGKILL'));
  writeFileSync(join(rec.remoteDir, 'reused.pid'), `${bystander.pid} 1\n`);
  t.true((await sshClientsOf(rec.controlPath)).length >= 1);
  const sweep = await sweepConnections(ledger, (r) => removeRemoteLeftovers(r, ledger));
  t.deepEqual(sweep.kept, []);
  t.deepEqual(sweep.collected.map((c) => [c.host, c.id]), [['box-1', rec.id]]);
  t.true(sweep.collected[0]!.processes >= 1, 'the orphaned master was stopped');
  t.false(existsSync(rec.localDir), 'local control-socket directory removed');
  t.false(existsSync(rec.remoteDir), 'remote directory removed');
  t.deepEqual(await processesMatching('sleep 3152'), [], 'the remote process it started was stopped');
  t.true((await processesMatching('sleep 3153')).length === 1, 'the process behind the reused pid lives');
  t.deepEqual(await sshClientsOf(rec.controlPath), [], 'no ssh process of the dead connection is left');
  // The live connection: on record, working, its directory intact.
  t.deepEqual(ledger.list().map((r) => r.id), [mine[0]!.id]);
  t.is((await live.run(['true'])).exitCode, 0);
  t.true(existsSync(mine[0]!.remoteDir));
  await live.close();
  t.deepEqual(ledger.list(), [], 'close() takes the record away');
  t.false(existsSync(mine[0]!.localDir) || existsSync(mine[0]!.remoteDir));
}, TOOLS);

privTest('ssh: preflight of 10 hosts opens exactly one connection per host (timed)', async (t) => {
  const lab = await withLab(t, 10);
  const execs = lab.boxes.map((b) => new SshExecutor(lab.spec(b.name)));
  t.teardown(() => Promise.all(execs.map((e) => e.close())).then(() => undefined));
  const t0 = Date.now();
  await preflight(execs);
  const openMs = Date.now() - t0;
  const t1 = Date.now();
  await Promise.all(execs.map(async (ex) => { for (let i = 0; i < 5; i++) t.is((await ex.run(['true'])).exitCode, 0); }));
  const runMs = Date.now() - t1;
  for (const b of lab.boxes) t.is((await lab.acceptedConnections(b.name)).length, 1, b.name);
  t.log(`10 hosts: preflight (connect + probe) ${openMs} ms; 50 commands (5 per host, hosts in parallel) ${runMs} ms`);
}, TOOLS);

privTest('ssh: a VXLAN overlay between two SSH hosts, built, pinged and captured only through the executors', async (t) => {
  const lab = await withLab(t, 2);
  const [ex1, ex2] = [new SshExecutor(lab.spec('box-1')), new SshExecutor(lab.spec('box-2'))] as const;
  t.teardown(() => Promise.all([ex1.close(), ex2.close()]).then(() => undefined));
  await preflight([ex1, ex2]);
  const overlay = async (ex: SshExecutor, local: string, remote: string, addr: string) => {
    await ex.runOk(['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', 'eth0'], 'tunnel vx0');
    await ex.runOk(['ip', 'addr', 'add', addr, 'dev', 'vx0'], 'address on vx0');
    await ex.runOk(['ip', 'link', 'set', 'vx0', 'up'], 'vx0 up');
  };
  await overlay(ex1, '198.51.100.11', '198.51.100.12', '203.0.113.1/24');
  await overlay(ex2, '198.51.100.12', '198.51.100.11', '203.0.113.2/24');
  // Independent oracle: the kernel state of the box namespace, read locally.
  const state = JSON.parse((await execa('ip', ['-n', lab.boxes[1]!.ns, '-d', '-j', 'link', 'show', 'vx0'])).stdout)[0];
  t.is(state.linkinfo.info_kind, 'vxlan');
  t.is(state.linkinfo.info_data.id, 42);
  t.is(state.linkinfo.info_data.remote, '198.51.100.11');
  // Capture on box-2's underlay while box-1 pings box-2 across the overlay.
  const cap = ex2.start(['tcpdump', '-l', '-n', '-i', 'eth0', '-c', '3', 'udp port 4789 and src host 198.51.100.11']);
  await new Promise((r) => setTimeout(r, 1500));
  const ping = await ex1.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', '203.0.113.2'], { timeoutMs: 20_000 });
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, /3 received/);
  const got = await Promise.race([cap.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
  const res = got ?? (await cap.stop());
  t.regex(res.stdout, /198\.51\.100\.11\.\d+ > 198\.51\.100\.12\.4789: VXLAN.*vni 42/);
  t.deepEqual(await processesMatching('tcpdump -l -n -i eth0'), []);
  // A wrong command names the host and carries the kernel's message.
  const err = await t.throwsAsync(ex1.runOk(['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789'], 'tunnel vx0'), { instanceOf: OpError });
  t.regex(err!.message, /tunnel vx0 on host "box-1": .*File exists/);
}, { tools: [...TOOLS.tools, 'tcpdump', 'ping'] });

privTest('ssh: the underlay interface of a remote host is discovered from its address', async (t) => {
  const lab = await withLab(t, 1);
  const ex = await openSsh(lab.spec('box-1'));
  t.teardown(() => ex.close());
  t.deepEqual(await discoverInterface(ex, 'box-1', '198.51.100.11/24'), { ifname: 'eth0', mtu: 1500, prefixlen: 24, up: true });
  const err = await t.throwsAsync(discoverInterface(ex, 'box-1', '198.51.100.99/24'), { instanceOf: OpError });
  t.regex(err!.message, /host "box-1" has no interface with address 198\.51\.100\.99.*\n?.*198\.51\.100\.11\/24 on eth0/s);
}, TOOLS);
