/**
 * What a check needs to know about the lab: where a named endpoint lives (namespace and
 * executor) and which addresses it has. Built from the model, so checks hold no topology logic.
 */
import type { Executor } from '../exec/executor.js';
import type { Check, Family, Lab } from '../model/types.js';
import type { CheckResult } from './result.js';
import type { SnapshotStore } from './snapshot.js';
import { diagnoseIpsec } from '../ipsec/diagnose.js';
import { labEspSas } from '../ipsec/keys.js';
import type { EspSa } from '../wire/esp.js';

export interface Endpoint {
  name: string;
  /** Namespace to run commands in ("" or undefined = the executor's own namespace). */
  ns?: string;
  exec: Executor;
  /** Addresses without prefix length, in recipe order. */
  addresses: string[];
  /** The endpoint's main interface (guest NIC, host underlay interface, switch). */
  ifname?: string;
  host?: string;
}

export interface CheckContext {
  lab: Lab;
  endpoint(name: string): Endpoint;
  /** The address to reach `name` at in `family`, or a literal address passed through. */
  address(name: string, family: Family): string;
  /** Directory for artifacts (pcaps, raw output); created on demand. */
  artifactsDir?: string;
  /** Where the lab's daemons keep their files (the engine's `<state dir>/run`; default /run/geneve-lab/run): OVS and OVN sockets and logs. */
  runRoot?: string;
  signal?: AbortSignal;
  /**
   * A fresh directory for a check's temporary files on the endpoint's machine (a capture's
   * pcap), removed by the check when done. The CLI puts it under the lab's state directory and
   * records it, so that after a crash `gc` removes it; without it checks use the system temp dir.
   */
  tempDir?: (ep: { exec: Executor; host?: string }, prefix: string) => Promise<string>;
  /**
   * Told when a check that runs checks of its own (an impair step) starts and ends each of them,
   * so progress (the TUI, `--verbose`) can say which inner check is running.
   */
  onInner?: (e: { parent: string; check: Check } | { parent: string; result: CheckResult }) => void;
  /** Snapshots the scenario runner took when named steps finished (counter `since`, state `unchanged_since`): lib/checks/snapshot.ts. */
  snapshots?: SnapshotStore;
  /**
   * When the run's first check started (ms): vswitchd lines logged before it were logged while the
   * lab was built (the log gate judges them with its setup allow list). runChecks sets it when absent.
   */
  runStartedAt?: number;
  /**
   * Why traffic may not cross the lab, beyond what a failed check saw (e.g. an IPsec SA that never
   * came up); appended to the message of a failed reachability check. Undefined: nothing to add.
   */
  explain?: () => Promise<string | undefined>;
  /** The lab's ESP keys (from the kernel's SAs), so captures decrypt what IPsec tunnels carry. */
  espSas?: () => Promise<EspSa[]>;
  /**
   * How ping probes are sent: 'auto' (default) from this process where the endpoint is local
   * (lib/checks/icmp/), else one `ping` process per check; 'process' always starts `ping`.
   * GENEVE_LAB_PROBES=process in the environment means the same.
   */
  probes?: 'auto' | 'process';
  /** How many checks run at once (`--jobs`); default: lib/checks/run.ts defaultJobs(). */
  jobs?: number;
}

export function familyOf(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

export function stripPrefix(cidr: string): string {
  return cidr.split('/')[0]!;
}

/** Build the context for a lab whose hosts are all reached through `exec` (local namespaces). */
/** Where the lab's daemons keep their files unless the engine says otherwise (the default state dir's run/). */
const DEFAULT_RUN_ROOT = '/run/geneve-lab/run';

export function contextFromLab(lab: Lab, exec: Executor, execForHost?: (host: string) => Executor, opts: { runRoot?: string } = {}): CheckContext {
  const exFor = (host?: string) => (host && execForHost ? execForHost(host) : exec);
  const endpoint = (name: string): Endpoint => {
    const g = lab.guests.find((x) => x.name === name);
    if (g) return { name, ns: g.ns, exec: exFor(g.host), addresses: g.addresses.map(stripPrefix), ifname: g.ifname, host: g.host };
    const h = lab.hosts.find((x) => x.name === name);
    if (h) {
      const addrs = [
        ...h.interfaces.flatMap((i) => i.addresses),
        ...lab.switches.filter((s) => s.host === h.name).flatMap((s) => s.addresses),
        ...lab.tunnels.flatMap((t) => t.ends.filter((e) => e.host === h.name && e.address).map((e) => e.address!)),
      ];
      return {
        name,
        ns: h.placement.kind === 'netns' ? h.ns : undefined,
        exec: exFor(h.name),
        addresses: addrs.map(stripPrefix),
        ifname: h.interfaces[0]?.ifname,
        host: h.name,
      };
    }
    // A router is a namespace of this machine (routers are always simulated).
    const r = lab.routers?.find((x) => x.name === name);
    if (r) return { name, ns: r.ns, exec, addresses: r.interfaces.flatMap((i) => i.addresses).map(stripPrefix), ifname: r.interfaces[0]?.ifname };
    const s = lab.switches.find((x) => x.name === name);
    if (s) {
      const host = lab.hosts.find((x) => x.name === s.host)!;
      return {
        name,
        ns: host.placement.kind === 'netns' ? host.ns : undefined,
        exec: exFor(host.name),
        addresses: s.addresses.map(stripPrefix),
        ifname: s.ifname,
        host: host.name,
      };
    }
    throw new Error(`unknown endpoint "${name}"`);
  };
  const ipsec = lab.tunnels.some((t) => t.ipsec);
  return {
    lab,
    endpoint,
    ...(opts.runRoot !== undefined ? { runRoot: opts.runRoot } : {}),
    ...(ipsec ? { explain: () => diagnoseIpsec(lab, { execFor: (h) => exFor(h), runRoot: opts.runRoot ?? DEFAULT_RUN_ROOT }), espSas: () => labEspSas(lab, (h) => exFor(h)) } : {}),
    address(name, family) {
      if (/^[0-9a-fA-F:.]+$/.test(name) && (name.includes('.') || name.includes(':'))) return name;
      const ep = endpoint(name);
      const a = ep.addresses.find((x) => familyOf(x) === family);
      if (!a) throw new Error(`"${name}" has no ${family} address`);
      return a;
    },
  };
}
