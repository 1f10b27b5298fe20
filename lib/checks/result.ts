/** The outcome of one check, shared by every check kind and every reporter. */
import type { Check } from '../model/types.js';

export type CheckStatus = 'passed' | 'failed' | 'error';

export interface CheckResult {
  name: string;
  kind: Check['kind'];
  /** One line: what was checked, e.g. "ping left → right (203.0.113.2), 3 × 56 B". */
  what: string;
  status: CheckStatus;
  /** Why it failed: what was expected and what was seen instead. */
  message?: string;
  /** Key figures for tables and the TUI, e.g. { loss: '0%', rtt_avg_ms: 0.05 }. */
  figures: Record<string, string | number | boolean>;
  durationMs: number;
  /** Raw output of the underlying tool, kept for artifacts. */
  raw?: string;
  /** Check-specific structured data (decoded packets, iperf JSON summary). */
  details?: unknown;
  /** Checks run inside this one (an impair step's `then`), in order. */
  children?: CheckResult[];
}
