/**
 * iperf `min_ratio`: the overlay must carry at least this fraction of what the bare underlay
 * carries between the same two hosts, measured in the same run with the same settings (protocol,
 * duration, streams, direction, bitrate). A ratio says more than an absolute rate on machines of
 * unknown speed (a laptop, a CI runner, a TCG VM). The baseline is measured once per host pair
 * and settings per lab run, and shared by the checks that ask for it.
 */
import type { IperfCheck, Lab } from '../model/types.js';
import type { CheckContext } from './context.js';
import { nodeOf, serverEndpoint, underlayPair } from './nodes.js';
import type { CheckResult } from './result.js';
import { formatBitrate } from './units.js';
import type { IperfSummary } from './iperf.js';

const baselines = new WeakMap<Lab, Map<string, Promise<CheckResult>>>();

/** The iperf check that measures the bare underlay between the hosts of `check`'s two ends. */
export function baselineCheck(check: IperfCheck, ctx: CheckContext): IperfCheck {
  const a = nodeOf(ctx.lab, check.from)?.host;
  const b = serverEndpoint(ctx, check.to).host;
  if (!a || !b) throw new Error(`cannot tell which hosts "${check.from}" and "${check.to}" are on`);
  if (a === b) throw new Error(`"${check.from}" and "${check.to}" are on the same host "${a}": there is no underlay between them`);
  const pair = underlayPair(ctx.lab, a, b, check.family) ?? underlayPair(ctx.lab, a, b);
  if (!pair) throw new Error(`hosts "${a}" and "${b}" share no network with addresses of one family`);
  const { minRatio: _r, minBps: _m, maxLossPct: _l, ...rest } = check;
  return { ...rest, name: `${check.name} (underlay baseline ${a} → ${b})`, from: a, to: pair.to, family: pair.family };
}

export async function withUnderlayBaseline(check: IperfCheck, ctx: CheckContext, run: (c: IperfCheck) => Promise<CheckResult>): Promise<CheckResult> {
  const started = Date.now();
  let base: IperfCheck;
  try {
    base = baselineCheck(check, ctx);
  } catch (e) {
    return { name: check.name, kind: check.kind, what: `iperf3 ${check.from} → ${check.to}`, status: 'error', message: `min_ratio: ${(e as Error).message}`, figures: {}, durationMs: 0 };
  }
  const key = JSON.stringify([base.from, base.to, base.protocol, base.durationS, base.parallel, base.reverse, base.bitrate ?? '']);
  const cache = baselines.get(ctx.lab) ?? new Map<string, Promise<CheckResult>>();
  baselines.set(ctx.lab, cache);
  if (!cache.has(key)) cache.set(key, run(base));
  const b = await cache.get(key)!;
  const r = await run(check);
  const bs = b.details as IperfSummary | undefined;
  const raw = `${r.raw ?? ''}\n[underlay baseline ${base.from} → ${base.to}]\n${b.raw ?? ''}`;
  if (b.status !== 'passed' || !bs || !(bs.bps > 0)) {
    return { ...r, status: r.status === 'failed' ? 'failed' : 'error', message: `${r.message ? `${r.message}; ` : ''}the underlay baseline ${base.from} → ${base.to} could not be measured: ${b.message ?? 'no throughput'}`, raw, durationMs: Date.now() - started };
  }
  const s = r.details as IperfSummary | undefined;
  if (r.status === 'error' || !s) return { ...r, raw, durationMs: Date.now() - started };
  const ratio = s.bps / bs.bps;
  const figures = { ...r.figures, baseline: formatBitrate(bs.bps), ratio: Number(ratio.toFixed(3)) };
  const ok = ratio >= check.minRatio!;
  const message = ok
    ? r.message
    : `${r.message ? `${r.message}; ` : ''}throughput / underlay baseline: expected >= ${check.minRatio}, observed ${ratio.toFixed(3)} (${formatBitrate(s.bps)} over the overlay, ${formatBitrate(bs.bps)} on the underlay ${base.from} → ${base.to})`;
  return {
    ...r,
    status: ok ? r.status : 'failed',
    ...(message ? { message } : {}),
    what: `${r.what}, min ${check.minRatio} × underlay`,
    figures,
    raw,
    durationMs: Date.now() - started,
    details: { ...s, baseline: bs, ratio, assertions: [{ field: 'throughput / underlay baseline', expected: `>= ${check.minRatio}`, observed: ratio.toFixed(3), ok }] },
  };
}
