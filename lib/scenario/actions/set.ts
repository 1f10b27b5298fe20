/**
 * `set:` — change a parameter of the running lab: a tunnel end (mtu, vni, dstport, ttl, tos, df,
 * offloads), a guest's NIC, a host's underlay interface or a switch (mtu, offloads). Every change
 * is a planner operation applied through Engine.applyRuntime, so it is journaled with its undo and
 * `down` restores or removes exactly what the lab made.
 *
 * Kernel tunnel netdevs: the kernel changes ttl, tos and df in place (geneve/vxlan changelink), but
 * refuses a new VNI or UDP port (EOPNOTSUPP: "Changing VNI, Port, endpoint IP address family,
 * external, inner_proto_inherit, and UDP checksum attributes are not supported"). For those the
 * device is recreated under the same name with every setting it had — the recipe's, overlaid with
 * what the live device says now (VNI, port, ttl, tos, df, MTU: earlier set steps, also of an
 * earlier `check` run) — re-enslaved, brought up and re-addressed. Its ifindex changes. OVS tunnel
 * ports take every change in place (`ovs-vsctl set Interface … options:`).
 *
 * Undo: objects the lab created vanish at `down` (their namespace, their OVS instance, or on SSH
 * hosts their own explicit undo), so changing them needs none. An SSH host's real NIC is the
 * machine's: its previous MTU/offloads are read first and restored at `down`.
 */
import type { CheckResult } from '../../checks/result.js';
import { inNetns, type Executor } from '../../exec/executor.js';
import type { SetStep, SetTarget, TunnelChange } from '../../model/scenario.js';
import type { DfMode } from '../../model/types.js';
import type { Host, Lab } from '../../model/types.js';
import type { RuntimeDraft } from '../../engine/runtime.js';
import type { Op } from '../../plan/ops.js';
import { tunnelLink } from '../../plan/plan.js';
import type { ScenarioContext } from '../context.js';

export function setWhat(s: SetStep): string {
  const what = [
    ...(s.mtu !== undefined ? [`mtu ${s.mtu}`] : []),
    ...Object.entries(s.tunnel ?? {}).map(([k, v]) => `${k} ${k === 'tos' && typeof v === 'number' ? '0x' + v.toString(16) : String(v)}`),
    ...Object.entries(s.offloads ?? {}).map(([k, v]) => `${k} ${v ? 'on' : 'off'}`),
  ].join(', ');
  return `set ${what} on ${s.targets.map(targetText).join(' and ')}`;
}

function targetText(t: SetTarget): string {
  switch (t.kind) {
    case 'tunnel':
      return `tunnel "${t.tunnel}" end ${t.end + 1}`;
    case 'guest':
      return `guest "${t.guest}"`;
    case 'host':
      return `host "${t.host}" interface on network "${t.network}"`;
    case 'switch':
      return `switch "${t.switch}"`;
  }
}

/** The namespace a host's objects live in: its own, or on an SSH host the machine's (''). */
const nsOf = (h: Host) => (h.placement.kind === 'ssh' ? '' : h.ns);

/** ethtool -K short names → the long names `ethtool -k` prints. */
const FEATURE_NAMES: Record<string, string> = {
  rx: 'rx-checksumming',
  tx: 'tx-checksumming',
  sg: 'scatter-gather',
  tso: 'tcp-segmentation-offload',
  ufo: 'udp-fragmentation-offload',
  gso: 'generic-segmentation-offload',
  gro: 'generic-receive-offload',
  lro: 'large-receive-offload',
  rxvlan: 'rx-vlan-offload',
  txvlan: 'tx-vlan-offload',
  ntuple: 'ntuple-filters',
  rxhash: 'receive-hashing',
};

/** `ethtool -k` output → feature → on/off. */
export function parseFeatures(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9_-]+):\s+(on|off)\b/.exec(line);
    if (m) out.set(m[1]!, m[2] === 'on');
  }
  return out;
}

/** What an SSH host's NIC has now, to restore at `down`; throws when it cannot be read (then nothing is changed). */
async function currentOfNic(exec: Executor, dev: string, host: string, s: SetStep): Promise<Op[]> {
  const undo: Op[] = [];
  if (s.mtu !== undefined) {
    const r = await exec.run(['ip', '-j', 'link', 'show', 'dev', dev]);
    const mtu = r.exitCode === 0 ? (JSON.parse(r.stdout) as { mtu?: number }[])[0]?.mtu : undefined;
    if (mtu === undefined) throw new Error(`cannot read the MTU of "${dev}" on SSH host "${host}" (${r.stderr.trim() || 'no answer'}); nothing was changed`);
    undo.push({ op: 'link.set', ns: '', name: dev, mtu });
  }
  if (s.offloads) {
    const r = await exec.run(['ethtool', '-k', dev]);
    const now = parseFeatures(r.stdout);
    const back: Record<string, boolean> = {};
    for (const f of Object.keys(s.offloads)) {
      const v = now.get(FEATURE_NAMES[f] ?? f) ?? now.get(f);
      if (v === undefined) throw new Error(`cannot read offload "${f}" of "${dev}" on SSH host "${host}" (ethtool -k: ${r.stderr.trim() || 'no such feature'}); nothing was changed`);
      back[f] = v;
    }
    undo.push({ op: 'offload.set', ns: '', dev, features: back });
  }
  return undo;
}

/** What a live geneve/vxlan netdev is set to now (`ip -d -j link show`), in recipe terms. */
export interface LiveTunnel extends TunnelChange {
  mtu?: number;
}

/** `ip -d -j link show dev X` of a geneve/vxlan device → its changeable settings. Pure, for tests. */
export function parseLiveTunnel(json: string): LiveTunnel {
  const l = (JSON.parse(json) as { mtu?: number; linkinfo?: { info_data?: Record<string, unknown> } }[])[0];
  const d = l?.linkinfo?.info_data ?? {};
  const out: LiveTunnel = {};
  if (typeof l?.mtu === 'number') out.mtu = l.mtu;
  if (typeof d.id === 'number') out.vni = d.id;
  if (typeof d.port === 'number') out.dstport = d.port;
  if (typeof d.ttl === 'number') out.ttl = d.ttl;
  else if (d.ttl === 'inherit' || d.ttl_inherit === true) out.ttl = 'inherit';
  else if (d.ttl === 'auto') out.ttl = 'auto';
  const tos = d.tos === 'inherit' ? 1 : typeof d.tos === 'string' && /^0x[0-9a-f]+$/i.test(d.tos) ? parseInt(d.tos, 16) : typeof d.tos === 'number' ? d.tos : undefined;
  // The kernel keeps "inherit" as tos 1 (and iproute2 prints it as 0x1).
  if (tos !== undefined) out.tos = tos === 1 ? 'inherit' : tos;
  if (d.df === 'unset' || d.df === 'set' || d.df === 'inherit') out.df = d.df as DfMode;
  return out;
}

async function liveTunnel(exec: Executor, ns: string, dev: string, host: string): Promise<LiveTunnel> {
  const argv = inNetns(ns || undefined, ['ip', '-d', '-j', 'link', 'show', 'dev', dev]);
  const r = await exec.run(argv);
  if (r.exitCode !== 0) throw new Error(`cannot read tunnel device "${dev}" on host "${host}"${ns ? ` (netns ${ns})` : ''}: ${r.stderr.trim() || `exit ${r.exitCode}`}; nothing was changed`);
  return parseLiveTunnel(r.stdout);
}

/** The operations for one target (and their undo). */
async function draftsFor(lab: Lab, t: SetTarget, s: SetStep, ctx: ScenarioContext): Promise<RuntimeDraft[]> {
  const out: RuntimeDraft[] = [];
  const subject = `step "${s.name}": ${targetText(t)}`;
  const add = (host: string, op: Op, undo: Op | null = null) => out.push({ subject, host, op, undo });
  const linkChanges = (host: string, ns: string, dev: string) => {
    if (s.mtu !== undefined) add(host, { op: 'link.set', ns, name: dev, mtu: s.mtu });
    if (s.offloads) add(host, { op: 'offload.set', ns, dev, features: s.offloads });
  };
  switch (t.kind) {
    case 'guest': {
      const g = lab.guests.find((x) => x.name === t.guest)!;
      linkChanges(g.host, g.ns, g.ifname);
      return out;
    }
    case 'switch': {
      const sw = lab.switches.find((x) => x.name === t.switch)!;
      linkChanges(sw.host, nsOf(lab.hosts.find((h) => h.name === sw.host)!), sw.ifname);
      return out;
    }
    case 'host': {
      const h = lab.hosts.find((x) => x.name === t.host)!;
      // The lab as connected: an SSH host's interface carries the machine's real name.
      const ifname = h.interfaces.find((f) => f.network === t.network)!.ifname;
      if (h.placement.kind !== 'ssh') {
        linkChanges(h.name, h.ns, ifname);
        return out;
      }
      // The machine's own NIC: restore what it had at `down`.
      const undo = await currentOfNic(ctx.execFor(h.name), ifname, h.name, s);
      if (s.mtu !== undefined) add(h.name, { op: 'link.set', ns: '', name: ifname, mtu: s.mtu }, undo.find((u) => u.op === 'link.set') ?? null);
      if (s.offloads) add(h.name, { op: 'offload.set', ns: '', dev: ifname, features: s.offloads }, undo.find((u) => u.op === 'offload.set') ?? null);
      return out;
    }
    case 'tunnel': {
      const tun = lab.tunnels.find((x) => x.name === t.tunnel)!;
      const end = tun.ends[t.end];
      const h = lab.hosts.find((x) => x.name === end.host)!;
      const ns = nsOf(h);
      if (end.impl === 'ovs') {
        const c = s.tunnel ?? {};
        const opts = [
          ...(c.vni !== undefined ? [`options:key=${c.vni}`] : []),
          ...(c.dstport !== undefined ? [`options:dst_port=${c.dstport}`] : []),
          ...(c.ttl !== undefined ? [`options:ttl=${c.ttl}`] : []),
          ...(c.tos !== undefined ? [`options:tos=${c.tos}`] : []),
          ...(s.mtu !== undefined ? [`mtu_request=${s.mtu}`] : []),
        ];
        const ovs = ctx.ovs(h.name);
        add(h.name, { op: 'ovs.cmds', ...ovs.op, cmds: [{ tool: 'vsctl', args: ['set', 'Interface', end.ifname, ...opts] }] });
      } else {
        const c = s.tunnel ?? {};
        // What the device has now (earlier set steps included), then this step's change.
        const live = c.vni !== undefined || c.dstport !== undefined || c.ttl !== undefined || c.tos !== undefined || c.df !== undefined ? await liveTunnel(ctx.execFor(h.name), ns, end.ifname, h.name) : {};
        const now: LiveTunnel = { ...live, ...c, ...(s.mtu !== undefined ? { mtu: s.mtu } : {}) };
        if (c.vni !== undefined || c.dstport !== undefined) {
          // The kernel cannot change these in place: the same device again, with the new values.
          const spec = tunnelLink(lab, tun, end);
          const p = { ...(now.vni !== undefined ? { vni: now.vni } : {}), ...(now.dstport !== undefined ? { dstport: now.dstport } : {}), ...(now.ttl !== undefined ? { ttl: now.ttl } : {}), ...(now.tos !== undefined ? { tos: now.tos } : {}), ...(now.df !== undefined ? { df: now.df } : {}) };
          const link = spec.kind === 'geneve' ? { ...spec, geneve: { ...spec.geneve, ...p } } : spec.kind === 'vxlan' ? { ...spec, vxlan: { ...spec.vxlan, ...p } } : spec;
          if (now.mtu !== undefined) link.mtu = now.mtu;
          add(h.name, { op: 'link.del', ns, name: end.ifname });
          add(h.name, { op: 'link.add', ns, link }, ns === '' ? { op: 'link.del', ns, name: end.ifname } : null);
          if (end.attach.kind === 'switch') {
            const sw = lab.switches.find((x) => x.name === end.attach.name)!;
            add(h.name, { op: 'link.set', ns, name: end.ifname, master: sw.ifname });
          }
          add(h.name, { op: 'link.set', ns, name: end.ifname, up: true });
          if (end.address) add(h.name, { op: 'addr.add', ns, dev: end.ifname, address: end.address, nodad: end.address.includes(':') });
        } else {
          if (c.ttl !== undefined || c.tos !== undefined || c.df !== undefined) {
            const kind = tun.type === 'vxlan' ? 'vxlan' : 'geneve';
            // iproute2 will not change a geneve device without its VNI: name the current one (the
            // kernel accepts an unchanged VNI, but refuses any port attribute, even an equal one).
            const id = now.vni ?? (tun.type === 'vxlan' ? tun.vxlan : tun.geneve)?.vni ?? 0;
            const keep = kind === 'geneve' ? { id } : undefined;
            add(h.name, { op: 'link.change', ns, name: end.ifname, kind, change: { ...(c.ttl !== undefined ? { ttl: c.ttl } : {}), ...(c.tos !== undefined ? { tos: c.tos } : {}), ...(c.df !== undefined ? { df: c.df } : {}) }, ...(keep ? { keep } : {}) });
          }
          if (s.mtu !== undefined) add(h.name, { op: 'link.set', ns, name: end.ifname, mtu: s.mtu });
        }
        if (s.offloads) add(h.name, { op: 'offload.set', ns, dev: end.ifname, features: s.offloads });
      }
      return out;
    }
  }
}

export async function runSet(s: SetStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: s.name, kind: s.kind, what: setWhat(s), figures: {} };
  if (!ctx.runtime) return { ...base, status: 'error', message: 'set changes a running lab and needs the engine to record it (not available here)', durationMs: 0 };
  const drafts: RuntimeDraft[] = [];
  for (const t of s.targets) drafts.push(...(await draftsFor(ctx.lab, t, s, ctx)));
  const applied = await ctx.runtime.applyRuntime(ctx.lab.name, drafts);
  return { ...base, status: 'passed', figures: { operations: applied.length }, durationMs: Date.now() - started, raw: applied.map((a) => `${a.id} ${a.subject}: ${JSON.stringify(a.op)}`).join('\n') + '\n' };
}
