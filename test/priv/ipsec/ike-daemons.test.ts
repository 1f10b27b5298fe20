/**
 * The lab's IKE daemons on this machine (root, real strongSwan and ovs-monitor-ipsec): one charon
 * per simulated host, each confined to its namespace and directory, negotiating IKEv2 with the
 * other host's on the same kernel; the PSK never in `ps`, only in 0600 files; stopping leaves no
 * process and no file. This kernel has no ESP, so CHILD_SAs cannot be installed here (the VM tier
 * tests those): what is asserted is the IKE_SA, and that the failure says why.
 * Also: ovs-monitor-ipsec, run for a host's own OVS instance (userspace datapath here), writes its
 * connections into the host's directory and our charon routes them; and static XFRM policies are
 * removed exactly, a foreign policy in the same namespace surviving.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { privTest } from '../../support/priv.js';
import { scratchNamespaces, tempDir, vethPair } from '../../support/scratch.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { startIpsec, stopIpsec } from '../../../lib/ipsec/daemons.js';
import { IpsecRunner } from '../../../lib/ipsec/runner.js';
import { ipsecPaths } from '../../../lib/ipsec/paths.js';
import { secret } from '../../../lib/ipsec/secret.js';
import { ikeConnsFor } from '../../../lib/ipsec/strongswan.js';
import { awaitSas } from '../../../lib/ipsec/await.js';
import { awaitMonitor } from '../../../lib/ipsec/monitor.js';
import { startOvs } from '../../../lib/ovs/daemons.js';
import type { Step } from '../../../lib/plan/ops.js';

const exec = new LocalExecutor();
const TOOLS = ['ipsec', 'unshare', 'python3', 'ovs-vswitchd'];
const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const step = (op: Step['op'], host = 'h'): Step => ({ id: 1, subject: `test on ${host}`, host, op, undo: null });

/** Every file under `dir` (recursively) except sockets. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
  return out;
}

/** No process on the machine shows `psk` on its command line (ps shows argv to every user). */
function assertNotInPs(t: ExecutionContext, psk: string): void {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  t.false(ps.includes(psk), 'the PSK is in `ps` output');
}

/** Two hosts on one veth, each with its IKE daemon, and the lab's GRE connections between them. */
async function twoHosts(t: ExecutionContext, pskA: string, pskB: string, parent?: string) {
  const tag = `ipsect-${randomBytes(3).toString('hex')}`;
  const [a, b] = scratchNamespaces(t, `${tag}-a`, `${tag}-b`);
  vethPair({ ns: a!, ifname: 'u0', addresses: ['192.0.2.1/24'] }, { ns: b!, ifname: 'u0', addresses: ['192.0.2.2/24'] });
  const root = tempDir(t, 'gl-ipsec-', parent);
  const dirs = [join(root, 'ipsec-a'), join(root, 'ipsec-b')];
  t.teardown(async () => {
    for (const d of dirs) await stopIpsec(exec, d).catch(() => {});
  });
  const hosts = [
    { ns: a!, dir: dirs[0]!, local: '192.0.2.1', remote: '192.0.2.2', psk: pskA },
    { ns: b!, dir: dirs[1]!, local: '192.0.2.2', remote: '192.0.2.1', psk: pskB },
  ];
  for (const h of hosts) {
    await startIpsec({ exec, ns: h.ns, dir: h.dir, label: `IKE daemon in ${h.ns}` });
    await new IpsecRunner(exec).run(step({ op: 'ipsec.conns', ns: h.ns, dir: h.dir, lab: tag, file: 'tun0', conns: ikeConnsFor('tun0', 'gre', h.local, h.remote), psk: secret(h.psk), esp: 'aes128-sha1' }));
  }
  return { tag, hosts, root };
}

const ipsecOf = (ns: string, dir: string, ...args: string[]) => sh(['ip', 'netns', 'exec', ns, ipsecPaths(dir).wrapper, ...args]);

privTest('two simulated hosts\' charons on one kernel negotiate IKEv2 with each other; the PSK stays in 0600 files and out of ps; stop leaves nothing', async (t) => {
  const psk = `gl-${randomBytes(6).toString('hex')}`;
  const { hosts, root } = await twoHosts(t, psk, psk);
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  // Each host has its own daemons: pid files and control socket in its own private /run.
  for (const h of hosts) {
    const p = ipsecPaths(h.dir);
    t.regex(readFileSync(p.charonPid, 'utf8'), /^\d+\s*$/);
    const pid = readFileSync(p.charonPid, 'utf8').trim();
    t.is(execFileSync('ip', ['netns', 'identify', pid], { encoding: 'utf8' }).trim(), h.ns, 'charon runs in its host\'s namespace');
    t.true(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`STRONGSWAN_CONF=${p.strongswanConf}`));
  }
  t.not(readFileSync(ipsecPaths(a.dir).charonPid, 'utf8'), readFileSync(ipsecPaths(b.dir).charonPid, 'utf8'));
  const up = ipsecOf(a.ns, a.dir, 'up', 'gl_tun0');
  t.regex(up.stdout, /authentication of '192\.0\.2\.2' with pre-shared key successful/, up.stdout);
  t.regex(up.stdout, /IKE_SA gl_tun0\[\d+\] established between 192\.0\.2\.1\[192\.0\.2\.1\]\.\.\.192\.0\.2\.2\[192\.0\.2\.2\]/);
  t.regex(ipsecOf(b.ns, b.dir, 'status').stdout, /gl_tun0\[\d+\]: ESTABLISHED/, 'the other host sees the same IKE_SA');
  assertNotInPs(t, psk);
  for (const h of hosts) {
    const p = ipsecPaths(h.dir);
    t.is(statSync(h.dir).mode & 0o777, 0o700);
    const holding = filesUnder(h.dir).filter((f) => readFileSync(f, 'latin1').includes(psk));
    t.deepEqual(holding, [join(p.labDir, 'tun0.secrets')], 'only the secrets file holds the PSK (logs, configs, pid files do not)');
    t.is(statSync(holding[0]!).mode & 0o777, 0o600);
  }
  // Without ESP in this kernel the CHILD_SA cannot be installed: `up`'s wait says so.
  const r = await awaitSas({ exec, ns: a.ns, ipsecDir: a.dir }, { tunnel: 'tun0', local: a.local, remote: a.remote, sel: { proto: 'gre' }, conns: { names: ['gl_tun0'] }, timeoutMs: 8000 });
  t.false(r.established);
  t.regex(r.reason!, /no common proposal|the kernel refused the SA|CHILD_SA/);
  for (const h of hosts) await stopIpsec(exec, h.dir);
  t.deepEqual(readdirSync(root), [], 'both directories removed');
  for (const h of hosts) t.is(sh(['ip', 'netns', 'pids', h.ns]).stdout.trim(), '', `no process left in ${h.ns}`);
}, { tools: TOOLS });

// The CLI's default state directory is /run/geneve-lab: each host's IPsec directory then lives
// under /run, which its charon's private mount namespace covers with the host's own run directory.
privTest('host IPsec directories under /run (the default state directory): both charons still read their configuration, negotiate, and stop leaving nothing', async (t) => {
  const psk = `gl-${randomBytes(6).toString('hex')}`;
  const { hosts, root } = await twoHosts(t, psk, psk, '/run');
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  for (const h of hosts) {
    const status = ipsecOf(h.ns, h.dir, 'statusall');
    t.is(status.status, 0, status.stderr);
    t.regex(status.stdout, /gl_tun0:\s+192\.0\.2\.\d\.\.\.192\.0\.2\.\d\s+IKEv2/, `the lab's connection is loaded on ${h.ns}: charon read ${ipsecPaths(h.dir).strongswanConf}`);
  }
  const up = ipsecOf(a.ns, a.dir, 'up', 'gl_tun0');
  t.regex(up.stdout, /IKE_SA gl_tun0\[\d+\] established between 192\.0\.2\.1\[192\.0\.2\.1\]\.\.\.192\.0\.2\.2\[192\.0\.2\.2\]/, up.stdout + up.stderr);
  t.regex(ipsecOf(b.ns, b.dir, 'status').stdout, /gl_tun0\[\d+\]: ESTABLISHED/);
  t.false(existsSync('/run/charon.pid') && readFileSync('/run/charon.pid', 'utf8').trim() === readFileSync(ipsecPaths(a.dir).charonPid, 'utf8').trim(), 'the machine\'s own /run is not where charon wrote');
  for (const h of hosts) await stopIpsec(exec, h.dir);
  t.deepEqual(readdirSync(root), [], 'both directories removed');
  for (const h of hosts) t.is(sh(['ip', 'netns', 'pids', h.ns]).stdout.trim(), '', `no process left in ${h.ns}`);
}, { tools: TOOLS });

privTest('a wrong PSK on one end: IKE authentication fails, and the wait says the pre-shared keys differ', async (t) => {
  const { hosts } = await twoHosts(t, 'right-key-1', 'wrong-key-2');
  const a = hosts[0]!;
  const t0 = Date.now();
  const r = await awaitSas({ exec, ns: a.ns, ipsecDir: a.dir }, { tunnel: 'tun0', local: a.local, remote: a.remote, sel: { proto: 'gre' }, conns: { names: ['gl_tun0'] }, timeoutMs: 60_000 });
  t.false(r.established);
  t.regex(r.reason!, /IKE authentication failed \(AUTHENTICATION_FAILED\): the two ends' pre-shared keys differ/);
  t.true(Date.now() - t0 < 55_000, 'a persistent authentication failure ends the wait early');
}, { tools: TOOLS });

/**
 * A file ovs-monitor-ipsec writes, once `ready` says it is complete: the monitor rewrites its
 * files (truncate, write, close) on every turn of its loop — also right after answering a
 * tunnels/show — so a read can fall between the truncate and the write (seen in CI: empty).
 * Gives up after 5 s and returns what it last read.
 */
async function monitorFile(file: string, ready: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 50; i++) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (ready(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

privTest('ovs-monitor-ipsec for a host\'s own OVS instance: our charon routes the connections it writes; the OVS database is root-only', async (t) => {
  const tag = `ipsect-${randomBytes(3).toString('hex')}`;
  const [ns] = scratchNamespaces(t, `${tag}-o`);
  const root = tempDir(t, 'gl-ipsec-');
  const ovsDir = join(root, 'ovs');
  const dir = join(root, 'ipsec');
  const ovs = await startOvs({ exec, ns: ns!, runDir: ovsDir, tag });
  t.teardown(async () => {
    await stopIpsec(exec, dir).catch(() => {});
    await ovs.stop().catch(() => {});
  });
  await startIpsec({ exec, ns: ns!, dir, label: 'IKE daemon', ovsDb: ovs.paths.dbSocket });
  t.is(statSync(ovsDir).mode & 0o777, 0o700);
  t.is(statSync(ovs.paths.db).mode & 0o777, 0o600);
  await ovs.vsctl(['add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'datapath_type=netdev', '--', 'add-port', 'br0', 'tun0', '--', 'set', 'Interface', 'tun0', 'type=gre', 'options:remote_ip=192.0.2.2']);
  const psk = `gl-${randomBytes(6).toString('hex')}`;
  await new IpsecRunner(exec).run(step({ op: 'ipsec.psk', ns: ns!, db: ovs.paths.dbSocket, port: 'tun0', psk: secret(psk), esp: 'aes128-sha256-modp2048' }));
  t.regex(await ovs.vsctl(['get', 'Interface', 'tun0', 'options:ipsec_esp']), /aes128-sha256-modp2048/);
  assertNotInPs(t, psk);
  const p = ipsecPaths(dir);
  // `up`'s monitor wait: over once the monitor has taken the port in (config written, refreshed).
  const ready = await awaitMonitor({ exec, ns: ns!, ipsecDir: dir }, ['tun0'], 30_000);
  t.true(ready.configured, ready.reason);
  const written = await monitorFile(p.monitorConf, (x) => /conn tun0-1\n/.test(x));
  t.regex(written, /conn tun0-1\n/, 'the monitor wrote the port\'s connections once it said CONFIGURED');
  const missing = await awaitMonitor({ exec, ns: ns!, ipsecDir: dir }, ['tun0', 'tun9'], 1500);
  t.false(missing.configured);
  t.is(missing.reason, 'port "tun9" not taken in yet');
  let status = '';
  for (let i = 0; i < 100 && !/tun0-1\{\d+\}:\s+ROUTED/.test(status); i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = ipsecOf(ns!, dir, 'status').stdout;
  }
  t.regex(status, /tun0-1\{\d+\}:\s+ROUTED, TRANSPORT/, status);
  const conf = await monitorFile(p.monitorConf, (x) => /conn tun0-1\n/.test(x));
  const connText = /conn tun0-1\n(?:    .*\n)+/.exec(conf)?.[0] ?? '';
  for (const line of ['right=192.0.2.2', 'authby=psk', 'leftprotoport=gre', 'rightprotoport=gre', 'esp=aes128-sha256-modp2048']) t.true(connText.includes(`    ${line}\n`), `${line} in\n${conf}`);
  t.false(conf.includes(psk));
  t.true((await monitorFile(p.monitorSecrets, (x) => x.includes(psk))).includes(psk));
  t.is(statSync(p.monitorSecrets).mode & 0o777 & 0o077, 0, 'the monitor\'s secrets file is readable by nobody else (its directory is 0700)');
  t.is(statSync(join(dir, 'etc')).mode & 0o777, 0o700);
  for (const f of filesUnder(dir).filter((x) => !x.endsWith('.secrets'))) t.false(readFileSync(f, 'latin1').includes(psk), f);
  await stopIpsec(exec, dir);
  t.false(spawnSync('test', ['-e', dir]).status === 0, 'directory removed');
}, { tools: TOOLS });

privTest('static XFRM: exactly the lab\'s policies go, a foreign one in the same namespace survives; a clash is refused and leaves it alone', async (t) => {
  const [ns] = scratchNamespaces(t, `ipsect-${randomBytes(3).toString('hex')}-x`);
  const foreign = ['src', '192.0.2.1/32', 'dst', '192.0.2.2/32', 'proto', 'udp', 'dport', '4789', 'dir', 'out'];
  execFileSync('ip', ['-n', ns!, 'xfrm', 'policy', 'add', ...foreign, 'tmpl', 'proto', 'esp', 'mode', 'transport']);
  const ours = [
    { sel: { src: '192.0.2.1', dst: '192.0.2.2', proto: 'udp' as const, dport: 6081 }, dir: 'out' as const, reqid: 0x40000001 },
    { sel: { src: '192.0.2.2', dst: '192.0.2.1', proto: 'udp' as const, dport: 6081 }, dir: 'in' as const, reqid: 0x40000001 },
  ];
  const runner = new IpsecRunner(exec);
  await runner.run(step({ op: 'xfrm.add', ns: ns!, states: [], policies: ours }));
  const list = () => execFileSync('ip', ['-n', ns!, 'xfrm', 'policy'], { encoding: 'utf8' });
  t.is((list().match(/dport 6081/g) ?? []).length, 2);
  await runner.run(step({ op: 'xfrm.del', ns: ns!, states: [], policies: ours.map((p) => ({ sel: p.sel, dir: p.dir })) }));
  t.false(list().includes('dport 6081'));
  t.regex(list(), /src 192\.0\.2\.1\/32 dst 192\.0\.2\.2\/32 proto udp dport 4789/, 'the foreign policy survives');
  await runner.run(step({ op: 'xfrm.del', ns: ns!, states: [], policies: ours.map((p) => ({ sel: p.sel, dir: p.dir })) }));
  t.pass('deleting what is already gone is not an error');
  const clash = [{ sel: { src: '192.0.2.1', dst: '192.0.2.2', proto: 'udp' as const, dport: 4789 }, dir: 'out' as const, reqid: 0x40000002 }];
  const e = await t.throwsAsync(runner.run(step({ op: 'xfrm.add', ns: ns!, states: [], policies: [ours[1]!, ...clash] })));
  t.regex(e!.message, /already exists there and is not the lab's \(policy out 192\.0\.2\.1 → 192\.0\.2\.2 udp dport 4789\)/);
  t.false(list().includes('dport 6081'), 'what went in before the clash was taken out again');
  t.regex(list(), /dport 4789/, 'the foreign policy is untouched');
}, { tools: ['ip'] });
