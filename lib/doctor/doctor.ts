/**
 * `geneve-lab doctor` and the requirement gate of `up`: what this machine can run, and for
 * each missing piece the command that fixes it. A recipe needing something missing fails
 * before any change, with the same words doctor uses.
 */
import type { Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import type { LinkTuning } from '../model/topology.js';
import { PrerequisiteError } from '../errors.js';
import type { DoctorItem } from './types.js';
import { FEATURE_FIX, probeKernel, type FeatureProbe, type KernelFeature } from './probes.js';
import { offPath, TOOLS, which } from './tools.js';
import { labHasLinkImpairments } from '../plan/impair.js';
import type { Plan } from '../plan/ops.js';
import { checkTools, mergeNeeds, missingLocalTools, missingRemoteTools, planTools } from './needs.js';

/** Tools only checks run (the rest of `requirements(lab).tools` is needed to build the lab). */
const CHECK_TOOLS = new Set(['ping', 'iperf3', 'tcpdump']);

export async function doctor(exec: Executor, extra: (() => Promise<DoctorItem[]>)[] = []): Promise<DoctorItem[]> {
  const items: DoctorItem[] = [];
  const root = process.getuid?.() === 0;
  items.push({
    area: 'privileges',
    feature: 'root',
    ok: root,
    detail: root ? 'running as root' : `running as uid ${process.getuid?.()}`,
    ...(root ? {} : { fix: 'run geneve-lab with sudo (namespaces and links need CAP_NET_ADMIN)' }),
  });
  if (root && which('ip')) {
    for (const p of await probeKernel(exec))
      items.push({ area: 'kernel', feature: p.feature, ok: p.ok, detail: p.detail, ...(p.ok ? {} : { fix: FEATURE_FIX[p.feature] }) });
  } else {
    items.push({ area: 'kernel', feature: 'probes', ok: false, detail: 'kernel features are probed only as root with iproute2 installed', fix: 'sudo geneve-lab doctor' });
  }
  for (const [tool, { pkg, why }] of Object.entries(TOOLS)) {
    // The same PATH lookup `up` and the checks make: a tool outside PATH is missing for them too.
    const path = which(tool);
    const elsewhere = path ? undefined : offPath(tool);
    items.push({
      area: 'tool',
      feature: tool,
      ok: Boolean(path),
      detail: path ? `${path} (${why})` : elsewhere ? `not on PATH, installed as ${elsewhere} (${why})` : `not found (${why})`,
      ...(path ? {} : { fix: elsewhere ? `add ${elsewhere.slice(0, elsewhere.lastIndexOf('/'))} to PATH` : `apt-get install ${pkg}` }),
    });
  }
  for (const more of extra) {
    try {
      items.push(...(await more()));
    } catch (e) {
      items.push({ area: 'vm', feature: 'probe', ok: false, detail: (e as Error).message });
    }
  }
  return items;
}

/** Every link tuning of the lab (host NICs, routers, switches, guests, tunnels). */
function linkTunings(lab: Lab): LinkTuning[] {
  return [
    ...lab.hosts.flatMap((h) => h.interfaces.map((i) => i.tuning)),
    ...(lab.routers ?? []).flatMap((r) => r.interfaces.map((i) => i.tuning)),
    ...lab.switches.map((s) => s.tuning),
    ...lab.guests.map((g) => g.tuning),
    ...lab.tunnels.map((t) => t.tuning),
  ].filter((t): t is LinkTuning => t !== undefined);
}

/** Kernel features and tools a lab needs on the machine that runs it. */
export function requirements(lab: Lab): { features: KernelFeature[]; tools: string[] } {
  const features = new Set<KernelFeature>(['netns', 'veth']);
  const tools = new Set<string>(['ip']);
  // Tunnel ends and switches on an SSH host are built by that machine's kernel and OVS, not
  // this one's: they need nothing here (the remote backend names a missing link type there).
  const here = (host: string) => lab.hosts.find((h) => h.name === host)?.placement.kind !== 'ssh';
  if (lab.networks.length || lab.switches.some((s) => s.kind === 'bridge')) features.add('bridge');
  for (const t of lab.tunnels) {
    const ends = t.ends.filter((e) => here(e.host));
    if (ends.some((e) => e.impl === 'kernel')) features.add(t.type === 'gre' ? 'gretap' : t.type);
    if (ends.some((e) => e.impl === 'ovs')) ['ovs-vsctl', 'ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl'].forEach((x) => tools.add(x));
    if (t.family === 'ipv6' && ends.length) features.add('ipv6');
  }
  if (lab.switches.some((s) => s.kind === 'ovs' && here(s.host))) ['ovs-vsctl', 'ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl'].forEach((x) => tools.add(x));
  if (lab.guests.some((g) => Object.keys(g.offload).length)) tools.add('ethtool');
  // Routers and link tuning (lib/plan/routers.ts): sysctls, ethtool -K, a router's nft rules.
  if (linkTunings(lab).some((t) => t.offloads && Object.keys(t.offloads).length)) tools.add('ethtool');
  if (lab.routers?.length) tools.add('sysctl');
  if (lab.routers?.some((r) => r.icmpTooBig === 'drop')) tools.add('nft');
  if (lab.ovn) ['ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-vswitchd', 'ovn-northd', 'ovn-controller', 'ovn-nbctl', 'ovn-sbctl', 'ovn-appctl'].forEach((x) => tools.add(x));
  if (lab.checks.some((c) => c.kind === 'ovn' && c.query.tool === 'trace')) tools.add('ovn-trace');
  // IPsec on a simulated host: ESP in this kernel, and strongSwan for a pre-shared key.
  const local = (h: string) => lab.hosts.some((x) => x.name === h && x.placement.kind === 'netns');
  for (const t of lab.tunnels.filter((x) => x.ipsec && x.ends.some((e) => local(e.host)))) {
    features.add('esp');
    if (t.ipsec!.psk) tools.add('ipsec');
  }
  // Impairments set at `up` need netem; impair check steps only tc (they report a kernel
  // without netem as a failed check, so the rest of the lab can still be checked here).
  if (labHasLinkImpairments(lab)) features.add('netem');
  if (labHasLinkImpairments(lab) || lab.checks.some((c) => c.kind === 'impair')) tools.add('tc');
  for (const c of lab.checks) {
    for (const x of c.kind === 'impair' ? c.then : [c]) {
      if (x.kind === 'ping' || x.kind === 'mtu') tools.add('ping');
      if (x.kind === 'iperf') tools.add('iperf3');
    }
    if (c.kind === 'capture') tools.add('tcpdump');
    if (c.kind === 'counter' && c.source.kind === 'nft') tools.add('nft');
    if (c.kind === 'counter' && c.source.kind === 'tc') tools.add('tc');
  }
  return { features: [...features], tools: [...tools] };
}

/** Probing the kernel needs root and ip. */
const canProbe = () => process.getuid?.() === 0 && Boolean(which('ip'));

/**
 * Start probing the kernel for what `lab` needs, so that the probe processes run while the rest of
 * the command loads its backend and plans (in a TCG guest both take a second or more); hand the
 * result to assertRequirements. Undefined where probing is not possible. Never rejects.
 */
export function startKernelProbe(lab: Lab, exec: Executor): Promise<FeatureProbe[] | undefined> | undefined {
  if (!canProbe()) return undefined;
  return probeKernel(exec, requirements(lab).features).catch(() => undefined);
}

/**
 * Fail before any change when the lab needs something this machine lacks: kernel features, and
 * every program the plan and the checks will run here (`plan` given: exactly its operations'
 * tools; `checks: false`: not the checks' tools, for `up --no-checks`).
 */
export async function assertRequirements(
  lab: Lab,
  exec: Executor,
  probes?: FeatureProbe[],
  opts: { plan?: Plan; checks?: boolean; remote?: (host: string) => Executor | undefined } = {},
): Promise<void> {
  const need = requirements(lab);
  const missing: { feature: string; fix: string }[] = [];
  const tools = mergeNeeds(
    opts.plan ? planTools(lab, opts.plan) : new Map([['', new Set(need.tools.filter((t) => !CHECK_TOOLS.has(t)))]]),
    opts.checks === false ? new Map() : checkTools(lab),
  );
  missing.push(...missingLocalTools(tools));
  // SSH hosts: the same question asked on each machine (one round trip per host).
  if (opts.remote) missing.push(...(await missingRemoteTools(tools, opts.remote)));
  // Probing needs root; probes passed in (tests, an early probe) are used when they answer every
  // feature this lab needs (or say there are no namespaces at all, which answers everything).
  const answered = probes && (probes.some((p) => p.feature === 'netns' && !p.ok) || need.features.every((f) => probes.some((p) => p.feature === f)));
  if (answered || canProbe()) {
    const got = answered ? probes : await probeKernel(exec, need.features);
    for (const f of need.features) {
      const p = got.find((x) => x.feature === f);
      if (p && !p.ok) missing.push({ feature: `this kernel has no ${f} support (${p.detail})`, fix: FEATURE_FIX[f].replace(/^this kernel has no \w+ support: /, '') });
    }
  }
  if (missing.length) throw new PrerequisiteError(missing);
}
