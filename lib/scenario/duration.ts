/**
 * Durations of scenario steps (sleep, wait timeout/every, exec/restart timeout): always with a
 * unit — "500ms", "1s", "1.5s", "2m" — because a bare number is ambiguous (the netem settings
 * read it as milliseconds, ping's interval as seconds).
 */
const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/i;

export const MAX_STEP_DURATION_MS = 3_600_000;

/** Milliseconds, or undefined when `v` is not a duration with a unit. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DURATION_RE.exec(v);
  if (!m) return undefined;
  const f = { ms: 1, s: 1000, m: 60_000 }[m[2]!.toLowerCase() as 'ms' | 's' | 'm'];
  return Math.round(parseFloat(m[1]!) * f);
}

/** "1.5s", "200ms", "2m": the shortest natural spelling, for step names and messages. */
export function showDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(3))}s`;
  return `${ms}ms`;
}
