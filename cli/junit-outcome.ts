/**
 * `--junit FILE` is written on every outcome of `up`, `run` and `check`: the check results when
 * the checks ran (0 checks: a testsuite with 0 tests, and a warning), or the error that ended the
 * verb as one errored test case (a failed build step, a missing prerequisite, Ctrl-C) — so a CI
 * job always has a report that says why.
 */
import { writeFileSync } from 'node:fs';
import type { CheckResult } from '../lib/checks/result.js';
import { formatJunit, formatJunitError } from '../lib/report/junit.js';
import { currentLab } from './output.js';

export type WriteJunitResults = (lab: string, results: CheckResult[]) => void;

export async function withJunitOutcome(file: string | undefined, verb: string, fn: (writeResults: WriteJunitResults) => Promise<number>): Promise<number> {
  const started = new Date();
  const writeResults: WriteJunitResults = (lab, results) => {
    if (!file) return;
    if (!results.length) process.stderr.write(`warning: no checks ran: ${file} has a testsuite with 0 tests\n`);
    writeFileSync(file, formatJunit(lab, results, { timestamp: started }));
  };
  try {
    return await fn(writeResults);
  } catch (e) {
    if (file) {
      try {
        writeFileSync(file, formatJunitError(currentLab() ?? 'geneve-lab', verb, e, { timestamp: started, durationMs: Date.now() - started.getTime() }));
      } catch (w) {
        // The verb's own error is the one to report; the unwritable report is a note beside it.
        process.stderr.write(`warning: could not write ${file}: ${(w as Error).message}\n`);
      }
    }
    throw e;
  }
}
