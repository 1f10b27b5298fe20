/**
 * Planning an OVS switch's OpenFlow program (lib/model/ovs-program.ts): the TLV map right after
 * the bridge exists (flows and the tunnel-option convenience both need it), then — once every
 * port of the switch exists — groups and meters, and the flows in ONE `ovs-ofctl add-flows
 * BRIDGE -` process fed on stdin, however many there are. Pure.
 */
import { ofctlProtocolArgs, type OvsProgram, type OpenFlowVersion } from '../model/ovs-program.js';
import type { Switch } from '../model/types.js';
import type { OvsCommand } from '../ovs/commands.js';
import { programInput, tlvMapArg } from '../ovs/flows.js';

/** The flow OVS puts on a new bridge in standalone mode; a switch without `flows:` keeps it. */
export const DEFAULT_FLOW = 'priority=0,actions=NORMAL';

/** Groups need OpenFlow 1.1+, meters 1.3+: the version named, else the newest the bridge allows. */
function versionFor(p: OvsProgram): OpenFlowVersion {
  if (p.openflow) return p.openflow;
  return p.protocols?.length ? [...p.protocols].sort().at(-1)! : 'OpenFlow15';
}

/** ovs-ofctl commands that bind the switch's TLV map (none when it has none). */
export function tlvMapCommands(sw: Switch): OvsCommand[] {
  const p = sw.program;
  if (!p?.tlvMap.length) return [];
  return [{ tool: 'ofctl', args: [...ofctlProtocolArgs(p), 'add-tlv-map', sw.ifname, tlvMapArg(p.tlvMap)] }];
}

/**
 * Groups, meters and flows, in that order (flows may name groups and meters). Given flows replace
 * the bridge's default flow (`del-flows`, then `add-flows BRIDGE -`); without `flows:` a bridge in
 * secure mode, which starts empty, gets the default `actions=NORMAL` so the default holds in both
 * fail modes (`flows: []` asks for an empty table).
 */
export function programCommands(sw: Switch): OvsCommand[] {
  const p = sw.program;
  if (!p) return [];
  const out: OvsCommand[] = [];
  const o = ofctlProtocolArgs(p);
  if (p.groups.length) {
    out.push({ tool: 'ofctl', args: ['-O', versionFor(p), 'add-groups', sw.ifname, '-'], input: programInput(p.groups), inputAt: p.groups.map((g) => g.at) });
  }
  // ovs-ofctl has no add-meters: one process per meter (a handful, unlike flows).
  for (const m of p.meters) out.push({ tool: 'ofctl', args: ['-O', versionFor(p), 'add-meter', sw.ifname, m.text], inputAt: [m.at] });
  if (p.flows) {
    out.push({ tool: 'ofctl', args: [...o, 'del-flows', sw.ifname] });
    if (p.flows.length) out.push({ tool: 'ofctl', args: [...o, 'add-flows', sw.ifname, '-'], input: programInput(p.flows), inputAt: p.flows.map((f) => f.at) });
  } else if (p.failMode === 'secure') {
    out.push({ tool: 'ofctl', args: [...o, 'add-flow', sw.ifname, DEFAULT_FLOW] });
  }
  return out;
}
