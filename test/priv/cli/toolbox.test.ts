/**
 * Issue 18 §1: the operator's verbs against a REAL lab brought up with the CLI — two simulated
 * hosts with OVS (userspace datapath) joined by a Geneve tunnel, a guest on each switch.
 * exec/ovs run in the lab's namespaces and OVS instances; every test shares the one lab, which
 * the last hook tears down (and checks nothing is left).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { privReason, privTest, randomLabName } from '../../support/priv.js';
import { cli, cliSpawn, CLI_ARGV, ROOT } from '../../support/cli.js';
import { schemaValidator } from '../../support/ajv.js';
import { outputSchema } from '../../../lib/report/output-schemas.js';

const TOOLS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'tcpdump'];
const stateDir = mkdtempSync(join(tmpdir(), 'tb-state-'));
const dir = mkdtempSync(join(tmpdir(), 'tb-recipe-'));
const lab = randomLabName('tb');
const file = join(dir, 'lab.yaml');
writeFileSync(
  file,
  `lab: ${lab}
hosts:
  - name: host-1
    interfaces: [{ ipv4: 192.0.2.151/24 }]
  - name: host-2
    interfaces: [{ ipv4: 192.0.2.149/24 }]
switches:
  - { name: br1, host: host-1, kind: ovs, addresses: [198.51.100.1/24] }
  - { name: br1b, host: host-2, kind: ovs, addresses: [198.51.100.2/24] }
guests:
  - { name: g1, switch: br1, addresses: [203.0.113.1/24] }
  - { name: g2, switch: br1b, addresses: [203.0.113.2/24] }
tunnels:
  - { name: gnv, between: [br1, br1b], type: geneve, vni: 77 }
`,
);
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
const canRun = !privReason(['ip', ...TOOLS]);

test.before(() => {
  if (!canRun) return;
  const r = g(['up', '--no-checks', file]);
  if (r.code !== 0) throw new Error(`up failed (${r.code}): ${r.stderr}`);
});
test.after.always(() => {
  if (canRun) g(['down', lab]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

privTest(
  'exec runs the command in the guest namespace and exits with its code',
  (t) => {
    const r = g(['exec', lab, 'g1', '--', 'ip', '-br', 'addr', 'show', 'dev', 'eth0']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /203\.0\.113\.1\/24/);
    // The root namespace has no such address: the command really ran in the guest.
    t.false(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' }).includes('203.0.113.1/'));
    t.is(g(['exec', lab, 'g1', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']).code, 7);
    const ping = g(['exec', lab, 'g1', '--', 'ping', '-c', '2', '-W', '3', '203.0.113.2']);
    t.is(ping.code, 0, ping.stdout + ping.stderr);
    const unknown = g(['exec', lab, 'nope', '--', 'true']);
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /no node "nope"; its nodes: host-1, host-2, br1, br1b, g1, g2/);
    t.is(g(['exec', 'tbnolab', 'g1', '--', 'true']).code, 5);
  },
  { tools: TOOLS },
);

privTest(
  "ovs talks to the switch's own OVS instance",
  (t) => {
    const show = g(['ovs', lab, 'br1', '--', 'vsctl', 'show']);
    t.is(show.code, 0, show.stderr);
    t.regex(show.stdout, /Bridge br1\b/);
    t.regex(show.stdout, /type: geneve/);
    t.regex(show.stdout, /key="77", remote_ip="192\.0\.2\.149"/);
    // The other host's instance has the other end.
    t.regex(g(['ovs', lab, 'br1b', '--', 'vsctl', 'show']).stdout, /remote_ip="192\.0\.2\.151"/);
    const ports = g(['ovs', lab, 'br1', '--', 'ofctl', 'dump-ports', 'br1']);
    t.is(ports.code, 0, ports.stderr);
    t.regex(ports.stdout, /OFPST_PORT reply/);
    const ctl = g(['ovs', lab, 'br1', '--', 'appctl', 'version']);
    t.is(ctl.code, 0, ctl.stderr);
    t.regex(ctl.stdout, /ovs-vswitchd/);
    t.is(g(['ovs', lab, 'g1', '--', 'vsctl', 'show']).code, 2);
    t.true(netns().includes(`gl-${lab}-host-1`));
  },
  { tools: TOOLS },
);

/** tcpdump processes in a namespace of the lab. */
function tcpdumpsIn(ns: string): number[] {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  return pids.filter((p) => {
    try {
      return execFileSync('cat', [`/proc/${p}/comm`], { encoding: 'utf8' }).trim() === 'tcpdump';
    } catch {
      return false;
    }
  });
}

interface Watched {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number>;
}
function watch(child: ChildProcess): Watched {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number>((res) => child.on('close', (c, sig) => res(c ?? (sig ? 128 : -1))));
  return { child, stdout: () => out, stderr: () => err, exit };
}
async function until(fn: () => boolean, what: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ping = () => g(['exec', lab, 'g1', '--', 'ping', '-c', '4', '-i', '0.2', '-W', '2', '203.0.113.2']);

privTest(
  'capture --count decodes live Geneve packets, one line each (outer, VNI, inner)',
  async (t) => {
    const cap = watch(cliSpawn(['--state-dir', stateDir, 'capture', lab, 'host-1', '--count', '6', '--filter', 'udp port 6081']));
    await until(() => /capturing on/.test(cap.stderr()), 'capture to start');
    ping();
    t.is(await cap.exit, 0, cap.stderr());
    const lines = cap.stdout().trim().split('\n');
    t.is(lines.length, 6, cap.stdout());
    // The inner frame may be ARP or IPv6 neighbour/router discovery too; most are the pings.
    for (const l of lines) t.regex(l, /^\d+ \d+\.\d{3}s 192\.0\.2\.(151|149) → 192\.0\.2\.(149|151) GENEVE \d+ B \| geneve vni 77 proto 0x6558 port 6081 \| inner \S+ → \S+ \S+/);
    t.true(lines.some((l) => /inner 203\.0\.113\.1 → 203\.0\.113\.2 ICMP/.test(l)), cap.stdout());
    t.regex(cap.stderr(), /6 packets captured/);
    t.deepEqual(tcpdumpsIn(`gl-${lab}-host-1`), []);
  },
  { tools: TOOLS },
);

privTest(
  'capture --json: the decoded packets of a guest NIC, snake_case',
  async (t) => {
    const cap = watch(cliSpawn(['--state-dir', stateDir, 'capture', lab, 'g1', '--json', '--count', '2', '--filter', 'icmp']));
    await until(() => /capturing on/.test(cap.stderr()), 'capture to start');
    ping();
    t.is(await cap.exit, 0, cap.stderr());
    const doc = JSON.parse(cap.stdout()) as { ifname: string; count: number; packets: { protocol: string; src: string }[] };
    t.is(schemaValidator(outputSchema('capture')!)(doc), undefined, 'the published capture schema');
    t.is(doc.ifname, 'eth0');
    t.is(doc.count, 2);
    t.deepEqual(doc.packets.map((p) => p.protocol), ['ICMP', 'ICMP']);
    t.is(doc.packets[0]!.src, '203.0.113.1');
  },
  { tools: TOOLS },
);

privTest(
  'capture -w - | tshark -r - reads the packets of an OVS tunnel port (captured on the underlay)',
  async (t) => {
    const argv = [process.execPath, ...CLI_ARGV, '--state-dir', stateDir, 'capture', lab, 'br1:gnv', '-w', '-', '--count', '2'];
    const pipe = watch(spawn('bash', ['-c', '"$@" | tshark -r - -T fields -e ip.src -e geneve.vni; exit ${PIPESTATUS[0]}', 'bash', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    await until(() => /capturing on/.test(pipe.stderr()), 'capture to start');
    ping();
    t.is(await pipe.exit, 0, pipe.stderr());
    const rows = pipe.stdout().trim().split('\n');
    t.is(rows.length, 2, pipe.stdout() + pipe.stderr());
    // ip.src: the outer source, then the inner one when the inner frame is IP (not ARP); VNI 77.
    for (const r of rows) t.regex(r, /^192\.0\.2\.1(51|49)(,203\.0\.113\.[12])?\t0x0*4d$/);
    t.regex(pipe.stderr(), /OVS tunnel port/);
  },
  { tools: [...TOOLS, 'tshark'] },
);

privTest(
  'Ctrl-C (and SIGTERM) end a capture cleanly: exit 0, no tcpdump left behind',
  async (t) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const cap = watch(cliSpawn(['--state-dir', stateDir, 'capture', lab, 'host-1']));
      await until(() => /capturing on/.test(cap.stderr()), 'capture to start');
      t.is(tcpdumpsIn(`gl-${lab}-host-1`).length, 1);
      cap.child.kill(sig);
      t.is(await cap.exit, 0, cap.stderr());
      t.regex(cap.stderr(), new RegExp(`stopped by ${sig}`));
      await until(() => tcpdumpsIn(`gl-${lab}-host-1`).length === 0, 'tcpdump to end', 5000);
      t.pass();
    }
    // Even after kill -9 of geneve-lab: tcpdump is tied to it.
    const cap = watch(cliSpawn(['--state-dir', stateDir, 'capture', lab, 'host-1']));
    await until(() => /capturing on/.test(cap.stderr()), 'capture to start');
    cap.child.kill('SIGKILL');
    await cap.exit;
    await until(() => tcpdumpsIn(`gl-${lab}-host-1`).length === 0, 'tcpdump to end after kill -9', 5000);
    t.pass();
  },
  { tools: [...TOOLS, 'setpriv'] },
);

privTest(
  'graph of a running lab (by name), as DOT',
  (t) => {
    const r = g(['graph', lab, '--format', 'dot']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /sw_br1 -> sw_br1b \[label="gnv\\ngeneve · VNI 77 · port 6081/);
    t.regex(r.stdout, /net_underlay \[label="underlay\\nMTU 1500"/);
  },
  { tools: TOOLS },
);

privTest(
  'status LAB: every node with its namespace and interfaces (addresses, MTU, MAC, state), every tunnel end as OVS reports it',
  (t) => {
    const r = g(['status', '--json', lab]);
    t.is(r.code, 0, r.stderr);
    t.is(schemaValidator(outputSchema('status')!)(JSON.parse(r.stdout)), undefined, 'the published status schema');
    const [st] = (JSON.parse(r.stdout) as { labs: unknown[] }).labs as {
      nodes: { node: string; kind: string; ns: string; present: boolean; interfaces: { ifname: string; addresses: string[]; mtu: number; mac: string; state: string }[] }[];
      tunnels: { name: string; type: string; vni: number; dstport: number; ends: { host: string; present: boolean; live: Record<string, unknown> }[] }[];
    }[];
    const g1 = st!.nodes.find((n) => n.node === 'g1')!;
    t.like(g1, { kind: 'guest', ns: `gl-${lab}-g1`, present: true });
    const eth0 = g1.interfaces.find((i) => i.ifname === 'eth0')!;
    t.true(eth0.addresses.includes('203.0.113.1/24'));
    t.is(eth0.state, 'UP');
    t.regex(eth0.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    // The real MAC, as the guest itself sees it.
    t.true(execFileSync('ip', ['-n', `gl-${lab}-g1`, 'link', 'show', 'eth0'], { encoding: 'utf8' }).includes(eth0.mac));
    const host1 = st!.nodes.find((n) => n.node === 'host-1')!;
    t.true(host1.interfaces.some((i) => i.addresses.includes('192.0.2.151/24')), JSON.stringify(host1.interfaces));
    t.true(host1.interfaces.some((i) => i.ifname === 'br1' && i.addresses.includes('198.51.100.1/24')));
    t.true(st!.nodes.some((n) => n.kind === 'network' && n.node === 'underlay' && n.present));
    const [tun] = st!.tunnels;
    t.like(tun, { name: 'gnv', type: 'geneve', vni: 77, dstport: 6081 });
    t.like(tun!.ends[0], { host: 'host-1', present: true, live: { type: 'geneve', key: '77', remote_ip: '192.0.2.149' } });
    const text = g(['status', lab]);
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /guest g1 — netns gl-\S+-g1\n\s+eth0 +veth +UP +mtu \d+ +\S+ 203\.0\.113\.1\/24/);
    t.regex(text.stdout, /gnv: geneve vni 77 port 6081 ipv4/);
  },
  { tools: TOOLS },
);

privTest(
  "the TUI's OVS port counters are live (ovs-ofctl dump-ports), not the database column OVS refreshes every 5 s",
  async (t) => {
    const { readOvsPortCounters } = await import('../../../lib/stats/ovsstats.js');
    const { LocalExecutor } = await import('../../../lib/exec/executor.js');
    const env = { OVS_RUNDIR: join(stateDir, 'run', lab, 'ovs-host-1') };
    const read = async () => (await readOvsPortCounters(new LocalExecutor(), `gl-${lab}-host-1`, env, ['br1'])).find((c) => c.ifname === 'gnv')!;
    const before = await read();
    t.truthy(before, 'the tunnel port is listed');
    t.is(g(['exec', lab, 'g1', '--', 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2']).code, 0);
    // Well inside OVS's 5-s statistics period: the received side of a tunnel port is counted as
    // the datapath's flow stats reach ofproto (revalidators, ~0.5 s, longer under load), so give it 2.5 s.
    let after = await read();
    for (const end = Date.now() + 2500; Date.now() < end && (after.txPackets - before.txPackets < 5 || after.rxPackets - before.rxPackets < 5); ) {
      await new Promise((r) => setTimeout(r, 100));
      after = await read();
    }
    t.true(after.txPackets - before.txPackets >= 5, `tx ${before.txPackets} → ${after.txPackets}`);
    t.true(after.rxPackets - before.rxPackets >= 5, `rx ${before.rxPackets} → ${after.rxPackets}`);
  },
  { tools: TOOLS },
);
