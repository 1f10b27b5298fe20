/**
 * `geneve-lab doctor` and the requirement gate of `up`: what this machine can run, and for
 * each missing piece the command that fixes it. A recipe needing something missing fails
 * before any change, with the same words doctor uses.
 */
import type { Executor } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { PrerequisiteError } from '../errors.js';
import type { DoctorItem } from './types.js';
import { FEATURE_FIX, probeKernel, type FeatureProbe, type KernelFeature } from './probes.js';
import { TOOLS, which } from './tools.js';
import { labHasLinkImpairments } from '../plan/impair.js';

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
    const path = which(tool);
    items.push({
      area: 'tool',
      feature: tool,
      ok: Boolean(path),
      detail: path ? `${path} (${why})` : `not found (${why})`,
      ...(path ? {} : { fix: `apt-get install ${pkg}` }),
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

/** Kernel features and tools a lab needs on the machine that runs it. */
export function requirements(lab: Lab): { features: KernelFeature[]; tools: string[] } {
  const features = new Set<KernelFeature>(['netns', 'veth']);
  const tools = new Set<string>(['ip']);
  if (lab.networks.length || lab.switches.some((s) => s.kind === 'bridge')) features.add('bridge');
  for (const t of lab.tunnels) {
    if (t.ends.some((e) => e.impl === 'kernel')) features.add(t.type === 'gre' ? 'gretap' : t.type);
    if (t.ends.some((e) => e.impl === 'ovs')) ['ovs-vsctl', 'ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl'].forEach((x) => tools.add(x));
    if (t.family === 'ipv6') features.add('ipv6');
  }
  if (lab.switches.some((s) => s.kind === 'ovs')) ['ovs-vsctl', 'ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl'].forEach((x) => tools.add(x));
  if (lab.guests.some((g) => Object.keys(g.offload).length)) tools.add('ethtool');
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
  }
  return { features: [...features], tools: [...tools] };
}

/** Fail before any change when the lab needs something this machine lacks. */
export async function assertRequirements(lab: Lab, exec: Executor, probes?: FeatureProbe[]): Promise<void> {
  const need = requirements(lab);
  const missing: { feature: string; fix: string }[] = [];
  for (const tool of need.tools) if (!which(tool)) missing.push({ feature: `${tool} is not installed`, fix: `apt-get install ${TOOLS[tool]?.pkg ?? tool}` });
  // Probing needs root; probes passed in (tests, a cached doctor run) are used as they are.
  if (probes || (process.getuid?.() === 0 && which('ip'))) {
    const got = probes ?? (await probeKernel(exec));
    for (const f of need.features) {
      const p = got.find((x) => x.feature === f);
      if (p && !p.ok) missing.push({ feature: `this kernel has no ${f} support (${p.detail})`, fix: FEATURE_FIX[f].replace(/^this kernel has no \w+ support: /, '') });
    }
  }
  if (missing.length) throw new PrerequisiteError(missing);
}
