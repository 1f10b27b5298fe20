/**
 * Port names on an OVS switch, as a recipe writes them and as the lab made them. A recipe names
 * the ports of a switch by its guests' names (their veth's switch side), its tunnels' names (the
 * tunnel port) and the switch's own name (the bridge's LOCAL port). The lab's real names differ
 * when a name had to be shortened to 15 bytes or, on SSH hosts, prefixed with the lab name; flows
 * and steps (`ovs` actions, packet_out) must use the real ones. Both spellings are accepted.
 */
import type { Lab } from '../model/types.js';

export interface SwitchPort {
  /** The OVS port name the lab created. */
  port: string;
  /** What it is, for messages: `guest "left"`, `tunnel "tun0"`, `the switch's own port`. */
  what: string;
}

/**
 * Every name (recipe name and real name) of the ports the lab creates on OVS switch `switchName`,
 * mapped to the real port. Unknown switch → an empty map.
 */
export function switchPorts(lab: Pick<Lab, 'switches' | 'guests' | 'tunnels'>, switchName: string): Map<string, SwitchPort> {
  const out = new Map<string, SwitchPort>();
  const sw = lab.switches.find((s) => s.name === switchName);
  if (!sw) return out;
  const add = (name: string, p: SwitchPort) => {
    if (!out.has(name)) out.set(name, p);
  };
  // Real names first: a real name always means its own port, even if it equals another recipe name.
  const entries: [string, SwitchPort][] = [];
  entries.push([sw.name, { port: sw.ifname, what: `the switch's own port (LOCAL)` }]);
  for (const g of lab.guests) if (g.switch === sw.name) entries.push([g.name, { port: g.peerIfname, what: `guest "${g.name}"` }]);
  for (const t of lab.tunnels)
    for (const e of t.ends)
      if (e.attach.kind === 'switch' && e.attach.name === sw.name) {
        entries.push([t.name, { port: e.ifname, what: `tunnel "${t.name}"` }]);
        if (e.overrides?.port) entries.push([e.overrides.port, { port: e.ifname, what: `tunnel port "${e.overrides.port}"` }]);
      }
  for (const [, p] of entries) add(p.port, p);
  for (const [name, p] of entries) add(name, p);
  return out;
}

/** Name → real port name, the form lib/ovs/flows.ts `checkFlow` takes. */
export function portNameMap(lab: Pick<Lab, 'switches' | 'guests' | 'tunnels'>, switchName: string): Map<string, string> {
  return new Map([...switchPorts(lab, switchName)].map(([k, v]) => [k, v.port]));
}

/** The real port for `name` on the switch, or undefined when the switch has no such port. */
export function resolvePortName(lab: Pick<Lab, 'switches' | 'guests' | 'tunnels'>, switchName: string, name: string): string | undefined {
  return switchPorts(lab, switchName).get(name)?.port;
}
