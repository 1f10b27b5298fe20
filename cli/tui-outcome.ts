/**
 * The outcome of an `up --tui` session, for `--junit FILE` and the exit code: what the user was
 * last shown when they quit. The TUI gets a controller that remembers how the last `up` and the
 * last full checks run ended, and every check result seen on the bus (the automatic run, `c`,
 * Enter on one check). At the end, like `up` without the TUI: the error of a failed last `up` (or
 * of a checks run that could not run) is thrown — one errored test case, its exit code — else the
 * check results are written (0 checks: an empty testsuite and a warning) and a failed check is
 * exit 1.
 */
import type { CheckResult } from '../lib/checks/result.js';
import { ExitCode } from '../lib/errors.js';
import type { Controller } from '../lib/ui/controller.js';
import type { WriteJunitResults } from './junit-outcome.js';
import { noteLab } from './output.js';

type Ended = { ok: true } | { ok: false; error: unknown };

export class TuiOutcome {
  private readonly results = new Map<string, CheckResult>();
  private lastUp: Ended | undefined;
  private lastChecks: Ended | undefined;
  private readonly off: () => void;
  /** Give this to the TUI (and use it for the automatic up and checks). */
  readonly controller: Controller;

  constructor(inner: Controller) {
    // An error report (JUnit, --json) names this lab, as `up` does.
    noteLab(inner.lab.name);
    this.off = inner.bus.on((e) => {
      if (e.type === 'check-done') this.results.set(e.result.name, e.result);
    });
    // The controller runs one lab action at a time and refuses a second one (e.g. u pressed while
    // the automatic checks run): a refused call says nothing about the lab, so it is not remembered.
    let inFlight = 0;
    const exclusive =
      <A extends unknown[], T>(fn: (...a: A) => Promise<T>, remember?: (r: Ended) => void) =>
      async (...a: A): Promise<T> => {
        const refused = inFlight > 0;
        inFlight++;
        try {
          const v = await fn(...a);
          if (!refused) remember?.({ ok: true });
          return v;
        } catch (error) {
          if (!refused) remember?.({ ok: false, error });
          throw error;
        } finally {
          inFlight--;
        }
      };
    this.controller = {
      lab: inner.lab,
      bus: inner.bus,
      up: exclusive(() => inner.up(), (r) => (this.lastUp = r)),
      down: exclusive(() => inner.down()),
      runChecks: exclusive(() => inner.runChecks(), (r) => (this.lastChecks = r)),
      rerunCheck: exclusive((name: string) => inner.rerunCheck(name)),
      capture: exclusive((host: string, ifname: string, opts?: Parameters<Controller['capture']>[2]) => inner.capture(host, ifname, opts)),
      stepLog: (id) => inner.stepLog(id),
      watchTargets: () => inner.watchTargets(),
      counters: (onSample, onError, opts) => inner.counters(onSample, onError, opts),
    };
  }

  /**
   * After the session: throws the error that ended the last `up` or checks run (withJunitOutcome
   * writes it as an errored test case), otherwise writes the results and returns the exit code.
   */
  finish(writeJunit: WriteJunitResults): number {
    this.off();
    if (this.lastUp && !this.lastUp.ok) throw this.lastUp.error;
    if (this.lastChecks && !this.lastChecks.ok) throw this.lastChecks.error;
    const results = [...this.results.values()];
    writeJunit(this.controller.lab.name, results);
    return results.some((r) => r.status !== 'passed') ? ExitCode.checkFailed : 0;
  }
}
