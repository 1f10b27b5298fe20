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
 * Start sampling; `onSample` receives the rates of every watched link that exists in two
 * consecutive polls. Returns a function that stops sampling.
 */
export function sampleLinks(
  exec: Executor,
  links: WatchedLink[] | (() => WatchedLink[]),
  onSample: (samples: CounterSample[]) => void,
  opts: SamplerOptions = {},
): () => void {
  const intervalMs = opts.intervalMs ?? 1000;
  const now = opts.now ?? Date.now;
  let prev: { at: number; counters: LinkCounters[] } | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    const at = now();
    const { counters, errors } = await readWatched(exec, typeof links === 'function' ? links() : links);
    if (stopped) return;
    for (const e of errors) opts.onError?.(e);
    if (prev) onSample(ratesBetween(prev.counters, counters, prev.at, at));
    prev = { at, counters };
    timer = setTimeout(() => void tick(), intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
