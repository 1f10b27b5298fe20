/**
 * VM tier, issue 16: IPsec for real — OVS's kernel datapath, ESP, strongSwan and ovs-monitor-ipsec.
 *  1. recipes/encapsulations-ipsec-gre.yaml through the CLI: SAs negotiated before the checks (the
 *     time reported), ping, TCP, a capture with only ESP on the wire and GRE/TEB inside once
 *     decrypted; the same pcap decrypted by tshark with the same keys agrees field by field; the
 *     PSK nowhere in `ps`, output, --json, JUnit, state, status or artifacts; down leaves nothing.
 *  2. recipes/geneve-ipsec.yaml (`run`): OVS port ↔ kernel geneve netdev, IPv4 and IPv6 underlay.
 *  3. A wrong PSK on one end: `up` says the SA never came up and why, the ping check fails saying
 *     so (not just 100 % loss), and not one GRE packet leaves in clear meanwhile.
 *  4. Static keys between two SSH hosts (sshd in namespaces): ESP on the wire, and `down` removes
 *     exactly the lab's SAs and policies — a foreign SA and policy on the machine survive.
 *  5. kill -9 of `up` once the IKE daemons run: `gc` stops them and removes their files.
 * Run inside the VM: `geneve-lab vm --exec -- node test/support/run-tests.js --inner -- test/vm/ipsec/ipsec.test.ts`.
 * Elsewhere every test is skipped LOUDLY.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliSpawn, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { startSshLab } from '../../support/sshd.js';
import { chainRecipe, cliIn } from '../../support/ssh-recipes.js';
import { kernelTest } from '../faults/kernel.js';
import { Engine } from '../../../lib/engine/engine.js';
import { EventBus, type LabEvent } from '../../../lib/engine/events.js';
import { StateStore } from '../../../lib/engine/state.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { selectBackend } from '../../../lib/backends/select.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { contextFromLab } from '../../../lib/checks/context.js';
import { runChecks } from '../../../lib/checks/run.js';
import { writeArtifacts } from '../../../lib/report/artifacts.js';
import { secret } from '../../../lib/ipsec/secret.js';
import type { Lab } from '../../../lib/model/types.js';
import type { Plan } from '../../../lib/plan/ops.js';
import { decodeCapture, type EspSa } from '../../../lib/wire/index.js';

const TOOLS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ipsec', 'python3', 'unshare', 'iperf3', 'tcpdump', 'tshark'];
const vmTest = (title: string, fn: (t: ExecutionContext) => Promise<void> | void, features: ('geneve' | 'ovs-kernel' | 'esp')[] = ['ovs-kernel', 'esp']) =>
  kernelTest(title, fn, { features, tools: TOOLS });

function scratch(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gl-vmipsec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A recipe of recipes/ under a fresh lab name. */
function recipeCopy(dir: string, name: string, lab: string): string {
  const text = readFileSync(join(ROOT, 'recipes', name), 'utf8').replace(/^lab: .*$/m, `lab: ${lab}`);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * Pids of IKE daemons of a state directory: charon/starter by the STRONGSWAN_CONF in their
 * environment, ovs-monitor-ipsec by its command line (never this very shell, whose own command
 * line holds the patterns).
 */
function labDaemons(state: string): string {
  const script = `for p in $(pgrep -f 'ipsec/(starter|charon)'); do tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -q "^STRONGSWAN_CONF=$1/" && echo $p; done
for p in $(pgrep -f 'openvswitch/scripts/ovs-monitor-ipsec'); do [ "$p" != $$ ] && tr '\\0' '\\n' < /proc/$p/cmdline 2>/dev/null | grep -q -- "--root-prefix=$1/" && echo $p; done; true`;
  return execFileSync('sh', ['-c', script, 'sh', state], { encoding: 'utf8' }).trim();
}

/** `ip xfrm state` of a namespace → the keys for decoding (our decoder) and for tshark's esp_sa UAT. */
function keysOf(ns: string): { sas: EspSa[]; uat: string[] } {
  const text = execFileSync('ip', ['-n', ns, 'xfrm', 'state'], { encoding: 'utf8' });
  const sas: EspSa[] = [];
  const uat: string[] = [];
  for (const b of text.split(/^(?=src )/m).filter((x) => x.startsWith('src '))) {
    const [, src, dst] = /^src (\S+) dst (\S+)/.exec(b)!;
    const spi = /spi (0x[0-9a-f]+)/.exec(b)![1]!;
    const aead = /aead rfc4106\(gcm\(aes\)\) (0x[0-9a-f]+) (\d+)/.exec(b);
    if (!aead) continue;
    sas.push({ spi: parseInt(spi, 16), src: src!, dst: dst!, aead: { name: 'rfc4106(gcm(aes))', key: Buffer.from(aead[1]!.slice(2), 'hex'), icvBits: Number(aead[2]) } });
    uat.push('-o', `uat:esp_sa:"${src!.includes(':') ? 'IPv6' : 'IPv4'}","${src}","${dst}","${spi}","AES-GCM with 16 octet ICV [RFC4106]","${aead[1]}","NULL",""`);
  }
  return { sas, uat };
}

vmTest('encapsulations-ipsec-gre (seed 003, GRE over IPsec): SAs up before the checks, ping + TCP, only ESP on the wire and GRE/TEB inside (agreeing with tshark); the PSK never shown; down leaves nothing', async (t) => {
  t.timeout(40 * 60_000);
  const dir = scratch(t);
  const lab = randomLabName('vi');
  const state = join(dir, 'state');
  const art = join(dir, 'artifacts');
  const junit = join(dir, 'junit.xml');
  const file = recipeCopy(dir, 'encapsulations-ipsec-gre.yaml', lab);
  // Under TCG on a busy machine one `up` of this lab took more than the 3 minutes cli() allows.
  const g = (args: string[]) => cliIn(undefined, ['--state-dir', state, ...args], 25 * 60_000);
  t.teardown(() => g(['down', lab]));
  const up = g(['up', '--json', '--artifacts', art, '--junit', junit, file]);
  t.log(up.stderr);
  t.is(up.code, 0, up.stdout + up.stderr);
  const checks = JSON.parse(up.stdout).checks as { name: string; status: string; message?: string; figures: Record<string, unknown> }[];
  t.deepEqual(checks.map((c) => [c.name, c.status]), [['l2', 'passed'], ['tcp', 'passed'], ['wire', 'passed'], ['vswitchd-log box-1', 'passed'], ['vswitchd-log box-2', 'passed']], JSON.stringify(checks, null, 1));
  // --json: the negotiation time is in the JSON (and on stderr with --verbose or without --json).
  const notices = (JSON.parse(up.stdout).up.notices ?? []) as { level: string; message: string }[];
  t.true(notices.some((n) => n.level === 'info' && /^tunnel "tun0": IPsec SAs established in \d+\.\d s \(192\.0\.2\.11 ⇄ 192\.0\.2\.12: tun0-\d+ SPIs 0x[0-9a-f]+ out, 0x[0-9a-f]+ in\)/.test(n.message)), JSON.stringify(notices));
  const wire = checks.find((c) => c.name === 'wire')!;
  t.like(wire.figures, { forbidden: 0 });
  t.is(wire.figures.esp, wire.figures.esp_decrypted, 'every ESP packet decrypted with the lab\'s keys');

  // The PSK: not in ps, not in what was printed, nor in the state, status, JUnit or artifacts.
  const psk = 'test123';
  t.false(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(psk), 'ps');
  const status = g(['status', '--json', lab]);
  t.is(status.code, 0);
  t.regex(status.stdout, /"psk": "<redacted>"/, 'status shows the port has a PSK, not what it is');
  for (const [what, text] of [['up stdout', up.stdout], ['up stderr', up.stderr], ['status', status.stdout + g(['status', lab]).stdout], ['junit', readFileSync(junit, 'utf8')]] as const) t.false(text.includes(psk), what);
  for (const f of filesUnder(join(state, 'labs'))) {
    t.false(readFileSync(f, 'latin1').includes(psk), f);
    if (f.endsWith('.json')) t.is(statSync(f).mode & 0o777, 0o600, f);
  }
  for (const f of filesUnder(art)) t.false(readFileSync(f, 'latin1').includes(psk), f);

  // Live cross-check: the capture's pcap, decrypted by tshark with the keys of box-2's SAs.
  const pcap = String(wire.figures.pcap);
  const { sas, uat } = keysOf(`gl-${lab}-box-2`);
  t.true(sas.length >= 2, 'box-2 has the SA pair');
  const ours = decodeCapture(readFileSync(pcap), { espSas: sas }).packets.filter((p) => p.esp);
  const rows = execFileSync('tshark', ['-r', pcap, '-o', 'esp.enable_encryption_decode:TRUE', ...uat, '-Y', 'esp', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-e', 'esp.spi', '-e', 'esp.sequence', '-e', 'gre.proto', '-e', 'ip.dst', '-e', 'ipv6.dst'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'));
  t.is(rows.length, ours.length);
  for (const [i, p] of ours.entries()) {
    const [spi, seq, proto, ipDst, ip6Dst] = rows[i]!;
    t.is(spi, `0x${p.esp!.spi.toString(16).padStart(8, '0')}`);
    t.is(seq, String(p.esp!.seq));
    t.is(proto, p.gre ? '0x6558' : '');
    // The innermost destination: an inner IPv6 packet (a router solicitation to ff02::2, say) is
    // in tshark's ipv6.dst, not in ip.dst (which then holds only the outer IPv4 address).
    if (p.inner?.family === 'ipv6') t.is(ip6Dst!.split(',').at(-1), p.inner.dst);
    else t.is(ipDst!.split(',').at(-1), p.inner?.dst ?? p.outer!.dst);
  }

  const down = g(['down', lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
  t.deepEqual(filesUnder(join(state, 'run')), [], 'no file of the IKE daemons or OVS left');
  t.is(labDaemons(state), '', 'no IKE daemon left');
});

vmTest('geneve-ipsec: Geneve over IPsec between an OVS port and a kernel geneve netdev, over IPv4 and IPv6', (t) => {
  t.timeout(40 * 60_000);
  const dir = scratch(t);
  const lab = randomLabName('vg');
  const file = recipeCopy(dir, 'geneve-ipsec.yaml', lab);
  // A state directory under /run, as the default (/run/geneve-lab) is: each charon's private /run
  // must not hide its own configuration there (lib/ipsec/strongswan.ts wrapperScript).
  const state = mkdtempSync('/run/gl-vmipsec-');
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const r = cliIn(undefined, ['--state-dir', state, 'run', '--json', file], 30 * 60_000);
  t.log(r.stderr);
  t.is(r.code, 0, r.stdout + r.stderr);
  const checks = JSON.parse(r.stdout).checks as { name: string; status: string }[];
  // Steps: each overlay settles (a `wait`), then the checks, then the kernel end's own ping (see the recipe).
  t.deepEqual(
    checks.map((c) => [c.name, c.status]).sort(),
    ['settle4', 'settle6', 'v4', 'v6', 'tcp4', 'wire4', 'wire6', 'v4-back', 'vswitchd-log box-1'].sort().map((n) => [n, 'passed']),
    JSON.stringify(checks, null, 1),
  );
  const notices = ((JSON.parse(r.stdout).up.notices ?? []) as { message: string }[]).map((n) => n.message).join('\n');
  t.regex(notices, /tunnel "gnv4": IPsec SAs established in/);
  t.regex(notices, /tunnel "gnv6": IPsec SAs established in .*gnv6-in-\d+ SPIs/);
  // Both ports on box-1's OVS: its ovs-monitor-ipsec took both in (each refresh tears SAs down:
  // lib/ipsec/monitor.ts) before the first SA was brought up.
  t.regex(notices, /ovs-monitor-ipsec on host "box-1" configured gnv4, gnv6 in [\d.]+ s\n(.*\n)*tunnel "gnv4": IPsec SAs established/);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
}, ['ovs-kernel', 'esp', 'geneve']);

/** The engine, planning as usual, except that box-2 gets another PSK than box-1. */
class WrongPskEngine extends Engine {
  override async plan(lab: Lab): Promise<Plan> {
    const p = await super.plan(lab);
    for (const s of p.steps) if (s.host === 'box-2' && (s.op.op === 'ipsec.psk' || s.op.op === 'ipsec.conns')) s.op = { ...s.op, psk: secret('not-the-same-key') };
    return p;
  }
}

vmTest('a wrong PSK on one end: up says the SA never came up and why, the ping fails saying so, and nothing leaves in clear', async (t) => {
  t.timeout(40 * 60_000);
  const dir = scratch(t);
  const name = randomLabName('vw');
  const text = readFileSync(join(ROOT, 'recipes/encapsulations-ipsec-gre.yaml'), 'utf8').replace(/^lab: .*$/m, `lab: ${name}`).replace(/min: 2Mbit/, 'min: 1Mbit');
  const lab = loadRecipeText(text, join(dir, 'r.yaml')).lab;
  const exec = new LocalExecutor();
  const bus = new EventBus();
  const events: LabEvent[] = [];
  bus.on((e) => events.push(e));
  const store = new StateStore(join(dir, 'state'));
  const engine = new WrongPskEngine({ exec, backend: await selectBackend('iproute2', exec, (m, level) => bus.emit({ type: 'notice', level: level ?? 'info', message: m })), bus, store });
  t.teardown(async () => {
    await engine.down(name).catch(() => {});
    await engine.backend.close();
  });
  await engine.up(lab);
  const notices = events.flatMap((e) => (e.type === 'notice' ? [`${e.level}: ${e.message}`] : []));
  t.true(
    notices.some((n) => /^warning: tunnel "tun0": the IPsec SA never came up within \d+\.\d s \(192\.0\.2\.11 ⇄ 192\.0\.2\.12\): IKE authentication failed \(AUTHENTICATION_FAILED\): the two ends' pre-shared keys differ/.test(n)),
    notices.join('\n'),
  );
  const ctx = contextFromLab(lab, exec, undefined, { runRoot: join(store.dir, 'run') });
  const results = await runChecks(lab.checks.filter((c) => c.name !== 'tcp'), ctx, bus);
  const ping = results.find((r) => r.name === 'l2')!;
  t.is(ping.status, 'failed');
  t.regex(ping.message!, /loss.*; the IPsec SA of tunnel "tun0" never came up \(192\.0\.2\.11 ⇄ 192\.0\.2\.12: IKE authentication failed \(AUTHENTICATION_FAILED\): the two ends' pre-shared keys differ\)$/);
  const wire = results.find((r) => r.name === 'wire')!;
  t.is(wire.status, 'failed', 'no ESP to see');
  t.is(wire.figures.forbidden, 0, 'and not one tunnel packet in clear: strongSwan\'s trap policies held them');
  // Artifacts of the failed run: IPsec's view per host, without either PSK.
  const art = join(dir, 'artifacts');
  mkdirSync(art);
  await writeArtifacts(art, lab, results, exec, { ovsRunRoot: join(store.dir, 'run') });
  const files = filesUnder(art);
  t.true(files.some((f) => f.endsWith(join('ipsec', 'box-1', 'charon.log'))), files.join('\n'));
  for (const f of files) for (const psk of ['test123', 'not-the-same-key']) t.false(readFileSync(f, 'latin1').includes(psk), `${psk} in ${f}`);
  const down = await engine.down(name);
  t.deepEqual(down.failures, []);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${name}-`)), []);
});

vmTest('static keys between two SSH hosts: ESP on the wire; down removes exactly the lab\'s SAs and policies, a foreign SA and policy on the machine survive', async (t) => {
  t.timeout(40 * 60_000);
  const lab = randomLabName('vs');
  const ssh = await startSshLab(lab);
  t.teardown(() => ssh.teardown());
  const dir = scratch(t);
  const box1 = ssh.boxes.find((b) => b.name === 'box-1')!;
  // The machine's own IPsec, there before the lab: an SA and a policy of its admin.
  const k = (n: number, c: string) => `0x${c.repeat(n * 2)}`;
  execFileSync('ip', ['-n', box1.ns, 'xfrm', 'state', 'add', 'src', '198.51.100.11', 'dst', '198.51.100.99', 'proto', 'esp', 'spi', '0x4242', 'mode', 'transport', 'enc', 'cbc(aes)', k(16, '7'), 'auth-trunc', 'hmac(sha1)', k(20, '8'), '96']);
  execFileSync('ip', ['-n', box1.ns, 'xfrm', 'policy', 'add', 'src', '198.51.100.11/32', 'dst', '198.51.100.99/32', 'proto', 'tcp', 'dir', 'out', 'tmpl', 'proto', 'esp', 'mode', 'transport']);
  const foreign = () => {
    const st = execFileSync('ip', ['-n', box1.ns, 'xfrm', 'state'], { encoding: 'utf8' });
    const po = execFileSync('ip', ['-n', box1.ns, 'xfrm', 'policy'], { encoding: 'utf8' });
    return { state: /spi 0x00004242/.test(st), policy: /dst 198\.51\.100\.99\/32 proto tcp/.test(po), lab: /spi 0x0000100[12]/.test(st) || /dport 4789/.test(po) };
  };
  const keys = `{ esp: aes128-sha256, keys: [{ spi: 0x1001, key: "${k(16, 'a')}", auth_key: "${k(32, 'b')}" }, { spi: 0x1002, key: "${k(16, 'c')}", auth_key: "${k(32, 'd')}" }] }`;
  const checks = [
    '  - { name: across, ping: { from: g1, to: g2, count: 3 } }',
    '  - { name: wire, capture: { host: box-2, interface: underlay, during: across, at_least: 3, expect: { esp: true, esp.spi: 0x1001, vxlan.vni: 101, inner.src: 203.0.113.1 }, forbid: { esp: false } } }',
  ].join('\n');
  const text = chainRecipe({ lab, hosts: 2, ssh, checks }).replace('type: vxlan, vni: 101 }', `type: vxlan, vni: 101, ipsec: ${keys} }`);
  const file = join(dir, 'r.yaml');
  writeFileSync(file, text);
  const g = (args: string[]) => cliIn(ssh.clientNs, ['--state-dir', join(dir, 'state'), ...args], 15 * 60_000);
  t.teardown(() => g(['down', lab]));
  const up = g(['up', '--json', file]);
  t.log(up.stderr);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.deepEqual((JSON.parse(up.stdout).checks as { name: string; status: string }[]).map((c) => [c.name, c.status]), [['across', 'passed'], ['wire', 'passed']], up.stdout);
  t.deepEqual(foreign(), { state: true, policy: true, lab: true });
  const down = g(['down', lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(foreign(), { state: true, policy: true, lab: false }, 'the lab\'s SAs and policies are gone, the admin\'s are not');
}, ['esp']);

vmTest('gc after a crash (kill -9 mid-up, IKE daemons running): strongSwan and ovs-monitor-ipsec stopped, their files removed', async (t) => {
  t.timeout(40 * 60_000);
  const dir = scratch(t);
  const lab = randomLabName('vc');
  const state = join(dir, 'state');
  const file = recipeCopy(dir, 'encapsulations-ipsec-gre.yaml', lab);
  const g = (args: string[]) => cliIn(undefined, ['--state-dir', state, ...args], 25 * 60_000);
  const plan = JSON.parse(g(['plan', '--format', 'json', file]).stdout) as { steps: { id: number; op: { op: string } }[] };
  const pauseAt = Math.max(...plan.steps.filter((s) => s.op.op === 'ipsec.start').map((s) => s.id));
  const child = cliSpawn(['--state-dir', state, 'up', '--no-checks', file], { GENEVE_LAB_PAUSE_AFTER_STEP: String(pauseAt) });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  t.teardown(() => {
    child.kill('SIGKILL');
    g(['gc']);
  });
  const deadline = Date.now() + 20 * 60_000;
  while (!/paused after step/.test(err) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  t.regex(err, new RegExp(`paused after step ${pauseAt}`), err);
  const ours = () => execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${state}/run/${lab}/`) || /ipsec\/(starter|charon)/.test(l));
  const daemons = () => labDaemons(state);
  t.not(daemons(), '', 'the lab\'s charon and starter run');
  t.true(ours().some((l) => l.includes('ovs-monitor-ipsec')), ours().join('\n'));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  const gc = g(['gc']);
  t.is(gc.code, 0, gc.stdout + gc.stderr);
  t.regex(gc.stdout, new RegExp(`lab ${lab}`));
  t.is(daemons(), '', 'no IKE daemon of the lab left');
  t.deepEqual(ours().filter((l) => l.includes(state)), []);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
  t.deepEqual(filesUnder(join(state, 'run')), []);
});
