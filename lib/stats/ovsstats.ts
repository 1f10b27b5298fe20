/**
 * Counters of OVS ports (userspace datapath ports are not kernel netdevs, so only OVS knows
 * them): `ovs-vsctl --format=json --columns=name,statistics list Interface`. The caller passes
 * the ovs-vsctl argv for the host's own database (e.g. ['ovs-vsctl', '--db=unix:/run/…/db.sock']).
 * OVS refreshes these every 5 s unless other_config:stats-update-interval is lowered.
 */
import { inNetns, type Executor } from '../exec/executor.js';
import { parseOfctlPortCounters } from '../checks/counter.js';
import type { LinkCounters } from './linkstats.js';

/** OVS statistics key → the kernel-style name the UI uses for error counters. */
const ERROR_KEYS: Record<string, string> = {
  rx_errors: 'rx_errors',
  rx_dropped: 'rx_dropped',
  rx_crc_err: 'rx_crc_errors',
  rx_frame_err: 'rx_frame_errors',
  rx_over_err: 'rx_over_errors',
  rx_missed_errors: 'rx_missed_errors',
  tx_errors: 'tx_errors',
  tx_dropped: 'tx_dropped',
  collisions: 'tx_collisions',
};

/** An OVS port's counters in the shape of a kernel link's (OVS knows no operstate or MTU here). */
function portCounters(ifname: string, ns: string, v: Record<string, number>, errors: Record<string, number>): LinkCounters {
  return { ifname, ns, operstate: 'UNKNOWN', mtu: 0, rxBytes: v.rx_bytes ?? 0, rxPackets: v.rx_packets ?? 0, txBytes: v.tx_bytes ?? 0, txPackets: v.tx_packets ?? 0, errors };
}

export function ovsStatsArgv(vsctl: readonly string[]): string[] {
  return [...vsctl, '--format=json', '--columns=name,statistics', 'list', 'Interface'];
}

/** Parse ovs-vsctl's JSON table ({headings, data: [[name, ["map", [[k, v]…]]]…]}). */
export function parseOvsInterfaceStats(json: string, ns: string): LinkCounters[] {
  let t: any;
  try {
    t = JSON.parse(json);
  } catch (e) {
    throw new Error(`could not parse ovs-vsctl statistics${ns ? ` in netns ${ns}` : ''}: ${(e as Error).message}`);
  }
  const headings: unknown = t?.headings;
  if (!Array.isArray(headings) || !Array.isArray(t?.data)) throw new Error('ovs-vsctl did not print a JSON table (expected {headings, data})');
  const iName = headings.indexOf('name');
  const iStats = headings.indexOf('statistics');
  if (iName < 0 || iStats < 0) throw new Error('ovs-vsctl table lacks the name or statistics column');
  return (t.data as unknown[][]).map((row): LinkCounters => {
    const cell = row[iStats] as unknown;
    const pairs: [string, number][] = Array.isArray(cell) && cell[0] === 'map' && Array.isArray(cell[1]) ? (cell[1] as [string, number][]) : [];
    const stats = Object.fromEntries(pairs.filter(([, v]) => typeof v === 'number'));
    const errors: Record<string, number> = {};
    for (const [k, name] of Object.entries(ERROR_KEYS)) if (k in stats) errors[name] = stats[k]!;
    return portCounters(String(row[iName]), ns, stats, errors);
  });
}

export async function readOvsStats(exec: Executor, vsctl: readonly string[], ns = ''): Promise<LinkCounters[]> {
  const argv = ovsStatsArgv(vsctl);
  const r = await exec.run(argv, { timeoutMs: 5000 });
  if (r.exitCode !== 0) throw new Error(`reading OVS port counters failed: ${r.stderr.trim() || `exit ${r.exitCode}`} (${argv.join(' ')})`);
  return parseOvsInterfaceStats(r.stdout, ns);
}

/**
 * Live counters of a bridge's ports, straight from the datapath: `ovs-ofctl --names dump-ports
 * BRIDGE` (what the TUI samples every second). The database column above is refreshed only every
 * 5 s: a 2-s iperf read from it showed 3 pps on a tunnel port that carried 52k pps (issue 18 §2).
 * "LOCAL" is the bridge's own port: it is reported under the bridge's name.
 */
export function ofctlPortCounters(text: string, bridge: string, ns: string): LinkCounters[] {
  return parseOfctlPortCounters(text).map(({ port, values: v }) =>
    portCounters(port === 'LOCAL' ? bridge : port, ns, v, Object.fromEntries(Object.entries(v).filter(([k]) => !/^(rx|tx)_(bytes|packets)$/.test(k)))),
  );
}

/** Every port of `bridges` of one OVS instance (its run directory in `env`, its host namespace `ns`). */
export async function readOvsPortCounters(exec: Executor, ns: string, env: Record<string, string>, bridges: readonly string[], ofctlArgs: (bridge: string) => string[] = () => []): Promise<LinkCounters[]> {
  const out: LinkCounters[] = [];
  for (const br of bridges) {
    const argv = inNetns(ns || undefined, ['ovs-ofctl', '--names', '--timeout=3', ...ofctlArgs(br), 'dump-ports', br]);
    const r = await exec.run(argv, { timeoutMs: 5000, env });
    if (r.exitCode !== 0) throw new Error(`reading OVS port counters failed: ${r.stderr.trim() || `exit ${r.exitCode}`} (${argv.join(' ')})`);
    out.push(...ofctlPortCounters(r.stdout, br, ns));
  }
  return out;
}
