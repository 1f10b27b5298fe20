/**
 * Polls link counters of a set of interfaces about once a second and hands out rates.
 * The engine uses it to implement Controller.counters(); the UI only receives samples.
 */
import type { Executor } from '../exec/executor.js';
import { readLinkStats, ratesBetween, type CounterSample, type LinkCounters } from './linkstats.js';

export interface WatchedLink {
  ns: string;
  ifname: string;
}

export interface SamplerOptions {
  intervalMs?: number;
  now?: () => number;
  /** Called when a namespace cannot be read (e.g. the lab is down); sampling goes on. */
  onError?: (err: Error) => void;
}

/** One poll: read each namespace once and keep the watched links. */
export async function readWatched(exec: Executor, links: WatchedLink[]): Promise<{ counters: LinkCounters[]; errors: Error[] }> {
  const byNs = new Map<string, Set<string>>();
  for (const l of links) byNs.set(l.ns, (byNs.get(l.ns) ?? new Set()).add(l.ifname));
  const counters: LinkCounters[] = [];
  const errors: Error[] = [];
  for (const [ns, names] of byNs) {
    try {
      for (const c of await readLinkStats(exec, ns)) if (names.has(c.ifname)) counters.push(c);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return { counters, errors };
}

/**
 * Poll any counter source (kernel links, OVS ports, both) every `intervalMs` and hand out the
 * rates between consecutive polls. `read` returns the counters and the errors of one poll.
 * Returns a function that stops sampling.
 */
export function sampleCounters(
  read: () => Promise<{ counters: LinkCounters[]; errors: Error[] }>,
  onSample: (samples: CounterSample[]) => void,
  opts: SamplerOptions = {},
): () => void {
  const intervalMs = opts.intervalMs ?? 1000;
  const now = opts.now ?? Date.now;
  // Last reading per link with its own time, so one failed poll (say, a namespace briefly
  // missing) does not lose the baseline of the links that were read before.
  const last = new Map<string, { at: number; counters: LinkCounters }>();
  let first = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    const at = now();
    let result: { counters: LinkCounters[]; errors: Error[] };
    try {
      result = await read();
    } catch (e) {
      result = { counters: [], errors: [e as Error] };
    }
    if (stopped) return;
    for (const e of result.errors) opts.onError?.(e);
    const samples: CounterSample[] = [];
    for (const c of result.counters) {
      const key = `${c.ns}\0${c.ifname}`;
      const p = last.get(key);
      if (p) samples.push(...ratesBetween([p.counters], [c], p.at, at));
      last.set(key, { at, counters: c });
    }
    if (!first) onSample(samples);
    first = false;
    timer = setTimeout(() => void tick(), intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/** Sample kernel links (by namespace and name); see sampleCounters. */
export function sampleLinks(
  exec: Executor,
  links: WatchedLink[] | (() => WatchedLink[]),
  onSample: (samples: CounterSample[]) => void,
  opts: SamplerOptions = {},
): () => void {
  return sampleCounters(() => readWatched(exec, typeof links === 'function' ? links() : links), onSample, opts);
}
