/** The outcome of one check, shared by every check kind and every reporter. */
import type { Check } from '../model/types.js';
import type { ActionKind } from '../model/scenario.js';

/** `skipped`: not run (a scenario step after a failed one); `message` says why. Never a pass. */
export type CheckStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface CheckResult {
  name: string;
  /** The check kind, or for a scenario action its kind (exec, ovs, set, …). */
  kind: Check['kind'] | ActionKind;
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
  /**
   * Set when the check could not run because this kernel lacks a feature (netem, …): the reason.
   * The status stays `failed`/`error` (it did not pass, the exit code says so), but JUnit reports
   * it as <skipped> with this reason rather than as a failure of the lab.
   */
  unsupported?: string;
  /** Checks run inside this one (an impair step's `then`), in order. */
  children?: CheckResult[];
}
