/**
 * Test fixture: two simulated hosts h1/h2 (underlay 192.0.2.1/.2) with an OVS switch each
 * (userspace datapath here), a tunnel port between the switches and a guest behind each switch
 * (203.0.113.1/.2), built the way users build labs: recipe text → loadRecipeText → Engine.up
 * with the CLI's backend (kernel backend + OVS runner), so the planner (lib/plan/ovs.ts) and
 * the OVS runner are what these tests exercise. Teardown runs Engine.down and removes the
 * state directory.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { OvsInstance, ovsPaths, type OvsPaths } from '../../../lib/ovs/index.js';
import { Engine } from '../../../lib/engine/engine.js';
import { StateStore } from '../../../lib/engine/state.js';
import { selectBackend } from '../../../lib/backends/select.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { ovsRunDir, underlayBridgeName } from '../../../lib/plan/ovs.js';
import type { Lab } from '../../../lib/model/types.js';
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
  /** Host namespace. */
  host: string;
  /** Guest namespace. */
  guest: string;
  /** The OVS bridge the recipe's switch became. */
  switch: string;
  /** The host's underlay interface (a port of the underlay bridge on the userspace datapath). */
  underlayIf: string;
  /** The OVS bridge that owns the underlay address on the userspace datapath. */
  underlayBridge: string;
  underlayIp: string;
  guestIp: string;
  /** The guest's veth end on the host (an OVS port of `switch`). */
  guestPort: string;
  /** The tunnel's OVS port on this host. */
  tunnelPort: string;
  paths: OvsPaths;
  /** Tools against this host's OVS (the engine owns the daemons: this never stops them). */
  ovs: OvsInstance;
}

export interface TwoHosts {
  lab: string;
  model: Lab;
  stateDir: string;
  engine: Engine;
  a: Side;
  b: Side;
  /** The guests' MTU as the planner set it (overlay MTU). */
  tunnelMtu: number;
}

export interface TwoHostsOptions {
  /** Recipe fields of the tunnel tun0 between sw1 and sw2 (YAML flow-mapping body); default `type: geneve`. */
  tunnel?: string;
  /** Guests g1/g2 behind the switches (default true). */
  guests?: boolean;
  /** Addresses on the switches themselves (seed 000 pings between bridge addresses). */
  switchAddresses?: [string, string];
  /** Leave tx checksum offload on in the guests (to show why the planner turns it off). */
  keepTxChecksum?: boolean;
  /** Extra tunnels (whole YAML flow mappings), e.g. a second port with the same config. */
  extraTunnels?: string[];
}

/** The recipe text of the two-host OVS lab. */
export function ovsTwoHostRecipe(lab: string, o: TwoHostsOptions = {}): string {
  const sw = (name: string, host: string, addr?: string) => `  - { name: ${name}, host: ${host}, kind: ovs${addr ? `, addresses: [${addr}]` : ''} }`;
  const offload = o.keepTxChecksum ? ', offload: { tx: true }' : '';
  const lines = [
    `lab: ${lab}`,
    'hosts:',
    '  - { name: h1, interfaces: [{ ipv4: 192.0.2.1/24 }] }',
    '  - { name: h2, interfaces: [{ ipv4: 192.0.2.2/24 }] }',
    'switches:',
    sw('sw1', 'h1', o.switchAddresses?.[0]),
    sw('sw2', 'h2', o.switchAddresses?.[1]),
    ...(o.guests === false
      ? []
      : ['guests:', `  - { name: g1, switch: sw1, addresses: [203.0.113.1/24]${offload} }`, `  - { name: g2, switch: sw2, addresses: [203.0.113.2/24]${offload} }`]),
    'tunnels:',
    `  - { name: tun0, between: [sw1, sw2], ${o.tunnel ?? 'type: geneve'} }`,
    ...(o.extraTunnels ?? []).map((t) => `  - ${t}`),
  ];
  return lines.join('\n') + '\n';
}

/** An engine as the CLI builds it (iproute2 kernel backend + OVS runner), with its own state dir. */
export async function labEngine(stateDir: string): Promise<Engine> {
  const backend = await selectBackend('iproute2', exec, () => {});
  return new Engine({ exec, backend, store: new StateStore(stateDir) });
}

/** A private state directory, removed (after `down`) on teardown. */
export function stateDirFor(t: ExecutionContext, lab: string, engine: () => Engine | undefined): string {
  const stateDir = mkdtempSync(join(tmpdir(), 'gl-ovs-'));
  t.teardown(async () => {
    const e = engine();
    if (e) {
      const down = await e.down(lab).catch((err: Error) => ({ failures: [err.message] }));
      if (down.failures.length) t.log(`down ${lab}: ${JSON.stringify(down.failures)}`);
      await e.backend.close();
    }
    rmSync(stateDir, { recursive: true, force: true });
  });
  return stateDir;
}

/** Every OVS daemon whose command line mentions `dir`. */
export function daemonsUnder(dir: string): string[] {
  return sh(['pgrep', '-f', `^ovs(db-server|-vswitchd) .*${dir}/`], { allowFail: true }).split('\n').filter(Boolean);
}

function side(model: Lab, stateDir: string, host: 'h1' | 'h2', guest: 'g1' | 'g2', sw: 'sw1' | 'sw2'): Side {
  const h = model.hosts.find((x) => x.name === host)!;
  const g = model.guests.find((x) => x.name === guest);
  const s = model.switches.find((x) => x.name === sw)!;
  const i = h.interfaces[0]!;
  const t = model.tunnels.find((x) => x.name === 'tun0')!;
  const paths = ovsPaths(ovsRunDir(join(stateDir, 'run'), model.name, host));
  return {
    host: h.ns,
    guest: g?.ns ?? '',
    switch: s.ifname,
    underlayIf: i.ifname,
    underlayBridge: underlayBridgeName(i.ifname),
    underlayIp: i.addresses[0]!.split('/')[0]!,
    guestIp: g?.addresses[0]?.split('/')[0] ?? '',
    guestPort: g?.peerIfname ?? '',
    tunnelPort: t.ends.find((e) => e.host === host)!.ifname,
    paths,
    ovs: new OvsInstance({ dbSocket: paths.dbSocket, vswitchdCtl: paths.vswitchdCtl, runDir: paths.runDir }, { exec, lab: model.name, ns: h.ns, label: `OVS on host "${host}"` }),
  };
}

/** Bring the two-host OVS lab up through the engine; everything is removed on teardown. */
export async function twoHosts(t: ExecutionContext, o: TwoHostsOptions = {}): Promise<TwoHosts> {
  const lab = randomLabName('ov');
  let engine: Engine | undefined;
  const stateDir = stateDirFor(t, lab, () => engine);
  engine = await labEngine(stateDir);
  const { lab: model } = loadRecipeText(ovsTwoHostRecipe(lab, o), 'two-hosts.yaml');
  await engine.up(model);
  const a = side(model, stateDir, 'h1', 'g1', 'sw1');
  const b = side(model, stateDir, 'h2', 'g2', 'sw2');
  const tunnelMtu = o.guests === false ? 0 : JSON.parse(sh(['ip', '-n', a.guest, '-j', 'link', 'show', 'eth0']))[0].mtu;
  return { lab, model, stateDir, engine, a, b, tunnelMtu };
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
