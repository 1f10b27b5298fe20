/**
 * Parsing and printing of the quantities checks talk about: bit rates ("500Mbit", "1.5G",
 * "100M") and percentages ("0.1%"). Rates are decimal (k = 1000), as iperf3 and tc use them.
 */

const RATE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
};

/** Parse "500Mbit", "500M", "1.5 Gbps", "100mbit/s", "2000000" into bits per second. */
export function parseBitrate(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`invalid bit rate ${text}: expected a non-negative number of bits per second`);
    return text;
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:bit|bits|bps|b)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`invalid bit rate "${text}": expected a number with an optional unit, e.g. 500Mbit, 1.5G, 100k`);
  return Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!;
}

/** "13.3 Gbit/s", "512 kbit/s": three significant digits, the largest unit that keeps ≥ 1. */
export function formatBitrate(bps: number): string {
  const units: [number, string][] = [
    [1e12, 'Tbit/s'],
    [1e9, 'Gbit/s'],
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
  ];
  for (const [f, u] of units) if (Math.abs(bps) >= f) return `${trim(bps / f)} ${u}`;
  return `${trim(bps)} bit/s`;
}

function trim(n: number): string {
  return String(Number(n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)));
}

/** Parse "0.1%", "0.1", 5 into a percentage number (0.1, 0.1, 5). */
export function parsePercent(text: string | number): number {
  const n = typeof text === 'number' ? text : Number(/^\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*$/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`invalid percentage "${text}": expected 0–100, e.g. 0.1%`);
  return n;
}

/** "0%", "0.5%", "36.3%": at most 3 significant digits, no trailing zeros. */
export function formatPercent(p: number): string {
  if (p === 0) return '0%';
  const s = p >= 10 ? p.toFixed(1) : p >= 1 ? p.toFixed(2) : p.toPrecision(2);
  return `${String(Number(s))}%`;
}

/** Milliseconds for humans: "850 ms", "3.2 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
