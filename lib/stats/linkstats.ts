/**
 * Link counters from the kernel: `ip -s -s -j [-n NS] link show`, and per-second rates between
 * two samples. Parsing and rate arithmetic are pure; only readLinkStats touches the system,
 * through an Executor (argv, never a shell string).
 */
import type { Executor } from '../exec/executor.js';

/** Cumulative counters of one link, as the kernel reports them (stats64). */
export interface LinkCounters {
  ifname: string;
  /** Namespace the link lives in ("" = the executor's own namespace). */
  ns: string;
  operstate: string;
  mtu: number;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  /**
   * Error counters by kernel name, prefixed with the direction: rx_errors, rx_dropped,
   * rx_frame_errors, rx_crc_errors, rx_length_errors, tx_errors, tx_dropped, tx_carrier_errors...
   * (`-s -s` gives the detailed ones; with a single `-s` only errors/dropped appear.)
   */
  errors: Record<string, number>;
}

/** Rates of one link over the interval between two samples. */
export interface CounterSample {
  ns: string;
  ifname: string;
  /** Milliseconds since the epoch when the newer sample was read. */
  at: number;
  intervalMs: number;
  rxPps: number;
  txPps: number;
  /** Bytes per second. */
  rxBps: number;
  txBps: number;
  /** Cumulative counters of the newer sample. */
  totals: LinkCounters;
  /** How much each error counter grew during the interval (only counters that exist). */
  errorsDelta: Record<string, number>;
  /** True when a counter went backwards (link re-created): rates are reported as 0. */
  reset: boolean;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Parse the JSON printed by `ip -s [-s] -j link show`. Throws a clear error on anything else. */
export function parseIpLinkStats(json: string, ns: string): LinkCounters[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new Error(`could not parse "ip -s -j link show" output${ns ? ` in netns ${ns}` : ''}: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`"ip -s -j link show"${ns ? ` in netns ${ns}` : ''} did not print a JSON array`);
  return data.map((raw: any): LinkCounters => {
    // stats64 is what current iproute2 prints; older versions print "stats".
    const st = raw?.stats64 ?? raw?.stats ?? {};
    const rx = st.rx ?? {};
    const tx = st.tx ?? {};
    const errors: Record<string, number> = {};
    for (const [dir, block] of [['rx', rx], ['tx', tx]] as const) {
      for (const [k, v] of Object.entries(block)) {
        if (k === 'bytes' || k === 'packets' || k === 'multicast' || k === 'carrier_changes') continue;
        if (typeof v === 'number') errors[`${dir}_${k}`] = v;
      }
    }
    return {
      ifname: String(raw?.ifname ?? '?'),
      ns,
      operstate: String(raw?.operstate ?? 'UNKNOWN'),
      mtu: num(raw?.mtu),
      rxBytes: num(rx.bytes),
      rxPackets: num(rx.packets),
      txBytes: num(tx.bytes),
      txPackets: num(tx.packets),
      errors,
    };
  });
}

/** argv that reads the counters of every link in `ns`. */
export function linkStatsArgv(ns: string): string[] {
  return ns ? ['ip', '-s', '-s', '-j', '-n', ns, 'link', 'show'] : ['ip', '-s', '-s', '-j', 'link', 'show'];
}

/** Read the counters of every link in a namespace. */
export async function readLinkStats(exec: Executor, ns: string): Promise<LinkCounters[]> {
  const argv = linkStatsArgv(ns);
  const r = await exec.run(argv, { timeoutMs: 5000 });
  if (r.exitCode !== 0) {
    throw new Error(`reading link counters${ns ? ` in netns ${ns}` : ''} failed: ${r.stderr.trim() || `exit ${r.exitCode}`} (${argv.join(' ')})`);
  }
  return parseIpLinkStats(r.stdout, ns);
}

/** Per-second rates between two readings of the same link taken `intervalMs` apart. */
export function computeRates(prev: LinkCounters, cur: LinkCounters, prevAt: number, curAt: number): CounterSample {
  const intervalMs = Math.max(0, curAt - prevAt);
  const reset =
    cur.rxBytes < prev.rxBytes || cur.txBytes < prev.txBytes || cur.rxPackets < prev.rxPackets || cur.txPackets < prev.txPackets;
  const perSec = (a: number, b: number) => (reset || intervalMs === 0 ? 0 : ((b - a) * 1000) / intervalMs);
  const errorsDelta: Record<string, number> = {};
  for (const [k, v] of Object.entries(cur.errors)) errorsDelta[k] = reset ? 0 : Math.max(0, v - (prev.errors[k] ?? 0));
  return {
    ns: cur.ns,
    ifname: cur.ifname,
    at: curAt,
    intervalMs,
    rxPps: perSec(prev.rxPackets, cur.rxPackets),
    txPps: perSec(prev.txPackets, cur.txPackets),
    rxBps: perSec(prev.rxBytes, cur.rxBytes),
    txBps: perSec(prev.txBytes, cur.txBytes),
    totals: cur,
    errorsDelta,
    reset,
  };
}

/** Rates for every link present in both readings (matched by namespace and name). */
export function ratesBetween(prev: LinkCounters[], cur: LinkCounters[], prevAt: number, curAt: number): CounterSample[] {
  const before = new Map(prev.map((l) => [`${l.ns}\0${l.ifname}`, l]));
  const out: CounterSample[] = [];
  for (const l of cur) {
    const p = before.get(`${l.ns}\0${l.ifname}`);
    if (p) out.push(computeRates(p, l, prevAt, curAt));
  }
  return out;
}

/** Sum of all error counters (rx and tx) of a link. */
export function totalErrors(errors: Record<string, number>): number {
  // rx_errors already includes the detailed rx_*_errors; count only the aggregate ones to avoid double counting.
  return (errors.rx_errors ?? 0) + (errors.tx_errors ?? 0) + (errors.rx_dropped ?? 0) + (errors.tx_dropped ?? 0);
}
