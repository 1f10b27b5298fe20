/**
 * The capture expectation `ovn: { datapath: network1, ingress: vm1, egress: vm2 }`: names from
 * the recipe's OVN section, turned into the tunnel keys OVN assigned (read from the SB database
 * when the check runs, exactly what `ovn-sbctl get Datapath_Binding network1 tunnel-key` shows),
 * then matched on the wire as `geneve.vni` and `geneve.ovn {ingress, egress}`. A failure shows
 * both sides: the keys the SB gave for the names, and the keys seen on the wire with the names
 * the SB gives them.
 */
import type { OvnWireNames } from '../model/ovn.js';
import type { DecodedPacket } from '../wire/decode.js';
import { tunnelKeys, type OvnDbTarget, type TunnelKeys } from '../ovn/query.js';

export const OVN_EXPECT_KEY = 'ovn';

/** The `ovn` entry of a capture expectation, if any (validated by the recipe layer). */
export function ovnNamesOf(expect: Record<string, unknown>): OvnWireNames | undefined {
  const v = expect[OVN_EXPECT_KEY];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as OvnWireNames) : undefined;
}

/** The expectation without its `ovn` entry (what the wire matcher knows). */
export function withoutOvn(expect: unknown): unknown {
  if (!expect || typeof expect !== 'object' || Array.isArray(expect) || !(OVN_EXPECT_KEY in expect)) return expect;
  const { [OVN_EXPECT_KEY]: _drop, ...rest } = expect as Record<string, unknown>;
  return rest;
}

export interface ResolvedOvnExpect {
  /** The expectation with `ovn` replaced by `geneve.vni` / `geneve.ovn`. */
  expect: Record<string, unknown>;
  /** "network1 → VNI 1, vm1 → port key 1, vm2 → port key 2 (SB database)". */
  resolved: string;
  keys: TunnelKeys;
}

/** Resolve names to keys; throws (the check is then an error) when a name has no binding in the SB. */
export async function resolveOvnExpect(target: OvnDbTarget, expect: Record<string, unknown>): Promise<ResolvedOvnExpect> {
  const names = ovnNamesOf(expect)!;
  const keys = await tunnelKeys(target);
  const out: Record<string, unknown> = { ...(withoutOvn(expect) as Record<string, unknown>) };
  const parts: string[] = [];
  if (names.datapath !== undefined) {
    const k = keys.datapaths.get(names.datapath);
    if (k === undefined) throw new Error(`the SB database has no Datapath_Binding for "${names.datapath}" (known: ${[...keys.datapaths.keys()].join(', ') || 'none'}); did ovn-northd process the NB?`);
    out['geneve.vni'] = k;
    parts.push(`datapath ${names.datapath} → VNI ${k}`);
  }
  const port = (role: 'ingress' | 'egress', name: string | undefined): number | undefined => {
    if (name === undefined) return undefined;
    const p = keys.ports.get(name);
    if (!p) throw new Error(`the SB database has no Port_Binding for ${role} port "${name}" (known: ${[...keys.ports.keys()].join(', ') || 'none'})`);
    if (names.datapath !== undefined && p.datapath !== names.datapath)
      throw new Error(`${role} port "${name}" is on datapath ${p.datapath}, not ${names.datapath}: port keys are only meaningful within their datapath`);
    parts.push(`${role} ${name} → port key ${p.key}`);
    return p.key;
  };
  const ingress = port('ingress', names.ingress);
  const egress = port('egress', names.egress);
  if (ingress !== undefined || egress !== undefined) out['geneve.ovn'] = { ...(ingress !== undefined ? { ingress } : {}), ...(egress !== undefined ? { egress } : {}) };
  return { expect: out, resolved: `${parts.join(', ')} (from the SB database)`, keys };
}

/**
 * The keys seen on the wire, named by the SB: "on the wire, by the SB: VNI 1 = network1;
 * ingress 1 egress 2 = vm1 → vm2 ×3, ingress 2 egress 1 = vm2 → vm1 ×3". Port keys are per
 * datapath, so they are named within the packet's datapath.
 */
export function wireLegend(packets: DecodedPacket[], keys: TunnelKeys): string {
  const dpName = new Map([...keys.datapaths].map(([n, k]) => [k, n]));
  const portName = (dp: string | undefined, key: number) =>
    [...keys.ports].find(([, p]) => p.key === key && (dp === undefined || p.datapath === dp))?.[0] ?? (key >= 0x8000 ? `multicast group ${key}` : `no port with key ${key}`);
  const vnis = new Set<number>();
  const pairs = new Map<string, number>();
  for (const p of packets) {
    if (!p.geneve) continue;
    vnis.add(p.geneve.vni);
    const o = p.geneve.ovn;
    if (!o) continue;
    const dp = dpName.get(p.geneve.vni);
    const id = `ingress ${o.ingress} egress ${o.egress} = ${portName(dp, o.ingress)} → ${portName(dp, o.egress)}`;
    pairs.set(id, (pairs.get(id) ?? 0) + 1);
  }
  if (!vnis.size) return '';
  const v = [...vnis].sort((a, b) => a - b).map((k) => `VNI ${k} = ${dpName.get(k) ?? 'no datapath'}`);
  const ps = [...pairs].sort((a, b) => b[1] - a[1]).map(([id, n]) => `${id} ×${n}`);
  return `on the wire, by the SB: ${v.join(', ')}${ps.length ? `; ${ps.join(', ')}` : ''}`;
}
