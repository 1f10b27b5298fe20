/**
 * Test fixture: two simulated hosts (namespaces) joined by a veth underlay in 192.0.2.0/24,
 * an OVS instance in each (userspace datapath), br-phy owning the underlay address, br-int
 * with a tunnel port and a guest (namespace) at 203.0.113.1/.2. Teardown removes it all.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { applyOvsHost, overlayMtu, startOvs, type GeneveTlv, type OptionFlowSpec, type OwnedOvs, type TunnelPortSpec } from '../../../lib/ovs/index.js';
import { randomLabName } from '../../support/priv.js';

export const exec = new LocalExecutor();

export function sh(argv: string[], opts: { allowFail?: boolean; timeout?: number } = {}): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeout ?? 30000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    if (opts.allowFail) return err.stdout ?? '';
    throw new Error(`${argv.join(' ')}: ${err.stderr || err.message}`);
  }
}

export const nsx = (ns: string, argv: string[], o?: { allowFail?: boolean; timeout?: number }) => sh(['ip', 'netns', 'exec', ns, ...argv], o);

export interface Side {
  host: string;
  guest: string;
  underlayIf: string;
  underlayIp: string;
  guestIp: string;
  ovs?: OwnedOvs;
}

export interface TwoHosts {
  lab: string;
  runRoot: string;
  a: Side;
  b: Side;
  tunnelMtu: number;
}

export interface TwoHostsOptions {
  /** Extra tunnel-port settings applied to both ends (remote_ip is filled per side). */
  tunnel?: Partial<TunnelPortSpec>;
  /** Options the flows will carry (only for the MTU calculation). */
  options?: GeneveTlv[];
  tunnelOfport?: number;
  guestOfport?: number;
  /** Option flows for side a and side b. */
  optionFlows?: [OptionFlowSpec[], OptionFlowSpec[]];
  /** Leave tx checksum offload on in the guests (to show why the plumbing turns it off). */
  keepTxChecksum?: boolean;
}

/** Every OVS daemon whose command line mentions `dir`. */
export function daemonsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const pid of sh(['pgrep', '-f', `^ovs(db-server|-vswitchd) .*${dir}/`], { allowFail: true }).split('\n').filter(Boolean)) out.push(pid);
  return out;
}

export async function twoHosts(t: ExecutionContext, o: TwoHostsOptions = {}): Promise<TwoHosts> {
  const lab = randomLabName('ov');
  const runRoot = `/tmp/gl-ovs-${lab}`;
  const a: Side = { host: `${lab}-h1`, guest: `${lab}-g1`, underlayIf: 'u1', underlayIp: '192.0.2.1', guestIp: '203.0.113.1' };
  const b: Side = { host: `${lab}-h2`, guest: `${lab}-g2`, underlayIf: 'u2', underlayIp: '192.0.2.2', guestIp: '203.0.113.2' };
  const made: string[] = [];
  t.teardown(async () => {
    for (const s of [a, b]) await s.ovs?.stop().catch((e) => t.log(`stop ${s.host}: ${e}`));
    for (const ns of made.reverse()) sh(['ip', 'netns', 'del', ns], { allowFail: true });
    sh(['rm', '-rf', '--', runRoot], { allowFail: true });
  });
  for (const ns of [a.host, b.host, a.guest, b.guest]) {
    sh(['ip', 'netns', 'add', ns]);
    made.push(ns);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', '-n', a.host, 'link', 'add', a.underlayIf, 'type', 'veth', 'peer', 'name', b.underlayIf, 'netns', b.host]);
  const type = o.tunnel?.type === 'ipsec_gre' ? 'gre' : (o.tunnel?.type ?? 'geneve');
  const tunnelMtu = overlayMtu(1500, { type, family: 'ipv4', options: o.options ?? [] });
  for (const s of [a, b]) {
    sh(['ip', '-n', s.host, 'addr', 'add', `${s.underlayIp}/24`, 'dev', s.underlayIf]);
    sh(['ip', '-n', s.host, 'link', 'set', s.underlayIf, 'up']);
    sh(['ip', '-n', s.host, 'link', 'add', 'vg', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.guest]);
    sh(['ip', '-n', s.guest, 'addr', 'add', `${s.guestIp}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', s.guest, 'link', 'set', 'eth0', 'up']);
  }
  for (const [i, s, peer] of [[0, a, b], [1, b, a]] as const) {
    s.ovs = await startOvs({ exec, ns: s.host, runDir: `${runRoot}/${s.host.slice(-2)}`, tag: lab, label: `OVS on ${s.host}` });
    // Everything for this host as data, applied in one go (one ovs-vsctl transaction for bridges and ports).
    await applyOvsHost(s.ovs, {
      lab,
      ns: s.host,
      datapath: 'netdev',
      // The /24 route is learnt from the kernel; the /32 exercises OVS's own tunnel routing table.
      underlay: { port: s.underlayIf, addresses: [`${s.underlayIp}/24`], routes: [{ prefix: `${peer.underlayIp}/32` }] },
      bridges: [{ name: 'br-int' }],
      tunnels: [{ bridge: 'br-int', name: 'tun0', type: 'geneve', remoteIp: peer.underlayIp, ...(o.tunnelOfport ? { ofport: o.tunnelOfport } : {}), ...o.tunnel }],
      guests: [
        { bridge: 'br-int', hostIf: 'vg', guestNs: s.guest, guestIf: 'eth0', mtu: tunnelMtu, ...(o.keepTxChecksum ? { txChecksumOff: false } : {}), ...(o.guestOfport ? { ofport: o.guestOfport } : {}) },
      ],
      ...(o.optionFlows ? { optionFlows: o.optionFlows[i] } : {}),
    });
  }
  return { lab, runRoot, a, b, tunnelMtu };
}

/** ping from side `from` to side `to`'s guest; returns packets received. */
export function ping(from: Side, to: Side, count = 3): number {
  const out = nsx(from.guest, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', to.guestIp], { allowFail: true, timeout: 20000 });
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

/** Capture on `side`'s underlay while `during` runs; returns tshark fields, one array per packet. */
export async function captureFields(side: Side, filter: string, fields: string[], during: () => void | Promise<void>, extra: string[] = []): Promise<string[][]> {
  const file = `/tmp/gl-ovs-cap-${side.host}-${Date.now()}.pcap`;
  const cap = exec.start(['ip', 'netns', 'exec', side.host, 'tcpdump', '-n', '-U', '--immediate-mode', '-i', side.underlayIf, '-w', file, filter]);
  try {
    // tcpdump has no readiness signal we can read from here: wait until the file exists.
    for (let i = 0; i < 50 && !sh(['sh', '-c', 'test -s "$1" && echo y', 'sh', file], { allowFail: true }); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    await during();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await cap.stop(2000);
  }
  try {
    const out = sh(['tshark', '-r', file, ...extra, '-E', 'occurrence=f', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])]);
    return out.split('\n').filter((l) => l.trim()).map((l) => l.split('\t'));
  } finally {
    sh(['rm', '-f', file], { allowFail: true });
  }
}

/** iperf3 TCP from side a's guest to side b's guest for `seconds`; returns bytes received (0 on failure) and the error text. */
export async function iperfTcp(a: Side, b: Side, seconds = 2): Promise<{ bytes: number; mbps: number; error?: string }> {
  const server = exec.start(['ip', 'netns', 'exec', b.guest, 'iperf3', '-s', '-1', '-B', b.guestIp], { timeoutMs: 30000 });
  try {
    await new Promise((r) => setTimeout(r, 700));
    const out = nsx(a.guest, ['iperf3', '-c', b.guestIp, '-t', String(seconds), '-J', '--connect-timeout', '3000'], { allowFail: true, timeout: 20000 });
    let r: { end?: { sum_received?: { bytes?: number; bits_per_second?: number } }; error?: string } = {};
    try {
      r = JSON.parse(out);
    } catch {
      r = { error: out.slice(0, 200) || 'no output' };
    }
    return { bytes: r.end?.sum_received?.bytes ?? 0, mbps: Math.round((r.end?.sum_received?.bits_per_second ?? 0) / 1e6), ...(r.error ? { error: r.error } : {}) };
  } finally {
    await server.stop(1000);
  }
}
