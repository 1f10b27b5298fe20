/**
 * `--json` output for check results: stable snake_case field names, figures as numbers (a
 * "0.5%" figure becomes `loss_pct: 0.5`), raw tool output and bulky details left out unless
 * asked for (they go to artifacts instead). The verbs wrap this in the common envelope
 * (lib/report/envelope.ts).
 */
import type { CheckResult } from '../checks/result.js';
import { snakeKeys } from './envelope.js';

export interface JsonSummary {
  total: number;
  passed: number;
  failed: number;
  error: number;
  skipped: number;
  duration_ms: number;
}

export interface JsonCheck {
  name: string;
  kind: string;
  what: string;
  status: CheckResult['status'];
  message?: string;
  figures: Record<string, string | number | boolean>;
  duration_ms: number;
  raw?: string;
  details?: unknown;
  children?: JsonCheck[];
}

export interface JsonReport {
  lab: string;
  ok: boolean;
  summary: JsonSummary;
  checks: JsonCheck[];
}

export interface JsonReportOptions {
  includeRaw?: boolean;
  includeDetails?: boolean;
}

const UNIT_SCALE: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * Figures for machines: the formatted strings the table shows ("0.5%", "13.3 Gbit/s", "10ms")
 * become numbers under a key that names the unit (`loss_pct`, `throughput_bps`, `delay_ms`);
 * a formatted twin of a number already there (`throughput` beside `bps`) is dropped.
 */
export function machineFigures(f: CheckResult['figures']): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string') {
      out[k] = v;
      continue;
    }
    const pct = /^(-?\d+(?:\.\d+)?)%$/.exec(v);
    const rate = /^(\d+(?:\.\d+)?) ([kMGT]?)bit\/s$/.exec(v);
    const ms = /^(\d+(?:\.\d+)?) ?ms$/.exec(v);
    if (pct) out[`${k}_pct`] = Number(pct[1]);
    else if (rate) {
      // iperf's `throughput` string beside its exact `bps`: the number is already there.
      if (typeof f.bps !== 'number') out[`${k}_bps`] = Math.round(Number(rate[1]) * UNIT_SCALE[rate[2]!]!);
    } else if (ms) out[`${k}_ms`] = Number(ms[1]);
    else out[k] = v;
  }
  return out;
}

export function jsonCheck({ raw, details, children, figures, durationMs, ...r }: CheckResult, opts: JsonReportOptions = {}): JsonCheck {
  return {
    ...r,
    figures: machineFigures(figures),
    duration_ms: durationMs,
    ...(opts.includeRaw && raw !== undefined ? { raw } : {}),
    ...(opts.includeDetails && details !== undefined ? { details: snakeKeys(details) } : {}),
    ...(children ? { children: children.map((c) => jsonCheck(c, opts)) } : {}),
  };
}

export function summarize(results: CheckResult[]): JsonSummary {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  return {
    total: results.length,
    passed: count('passed'),
    failed: count('failed'),
    error: count('error'),
    skipped: count('skipped'),
    duration_ms: results.reduce((a, r) => a + r.durationMs, 0),
  };
}

export function toJsonReport(lab: string, results: CheckResult[], opts: JsonReportOptions = {}): JsonReport {
  return {
    lab,
    ok: results.every((r) => r.status === 'passed'),
    summary: summarize(results),
    checks: results.map((r) => jsonCheck(r, opts)),
  };
}

export function formatJson(lab: string, results: CheckResult[], opts: JsonReportOptions = {}): string {
  return JSON.stringify(toJsonReport(lab, results, opts), null, 2) + '\n';
}
