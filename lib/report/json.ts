/**
 * `--json` output for check results: stable field names, raw tool output and bulky details
 * left out unless asked for (they go to artifacts instead).
 */
import type { CheckResult } from '../checks/result.js';

export interface JsonReport {
  lab: string;
  ok: boolean;
  summary: { total: number; passed: number; failed: number; error: number; skipped: number; durationMs: number };
  checks: JsonCheck[];
}

export type JsonCheck = Omit<CheckResult, 'raw' | 'details' | 'children'> & { raw?: string; details?: unknown; children?: JsonCheck[] };

function jsonCheck({ raw, details, children, ...r }: CheckResult, opts: { includeRaw?: boolean; includeDetails?: boolean }): JsonCheck {
  return {
    ...r,
    ...(opts.includeRaw && raw !== undefined ? { raw } : {}),
    ...(opts.includeDetails && details !== undefined ? { details } : {}),
    ...(children ? { children: children.map((c) => jsonCheck(c, opts)) } : {}),
  };
}

export function toJsonReport(lab: string, results: CheckResult[], opts: { includeRaw?: boolean; includeDetails?: boolean } = {}): JsonReport {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  return {
    lab,
    ok: results.every((r) => r.status === 'passed'),
    summary: {
      total: results.length,
      passed: count('passed'),
      failed: count('failed'),
      error: count('error'),
      skipped: count('skipped'),
      durationMs: results.reduce((a, r) => a + r.durationMs, 0),
    },
    checks: results.map((r) => jsonCheck(r, opts)),
  };
}

export function formatJson(lab: string, results: CheckResult[], opts: { includeRaw?: boolean; includeDetails?: boolean } = {}): string {
  return JSON.stringify(toJsonReport(lab, results, opts), null, 2) + '\n';
}
