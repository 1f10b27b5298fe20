/**
 * The plain-text progress reporter for `up`/`down`/`gc`: subscribes to engine events, prints lines
 * to stderr (stdout stays for results, so `--json --verbose` gives JSON there and progress here).
 * `--verbose` adds every step, undo and check with its duration, each line stamped with the
 * seconds since the command started: where a slow lab spends its time (an SSH host's preflight,
 * one step, one check) shows as a gap between two stamps.
 */
import type { EventBus } from '../lib/engine/events.js';
import { describeFailure } from '../lib/errors.js';

export function attachPlainReporter(bus: EventBus, opts: { verbose: boolean; out?: NodeJS.WritableStream; now?: () => number }): () => void {
  const out = opts.out ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const w = (s: string) => out.write(s + '\n');
  const v = (s: string) => {
    if (opts.verbose) w(`[${((now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`);
  };
  // A rollback says what it undid even without --verbose: after a failure or Ctrl-C the user
  // should see what was made and removed again.
  let rollingBack = false;
  return bus.on((e) => {
    if (e.type === 'phase' && e.phase === 'rollback') rollingBack = e.state === 'start';
    if (e.type === 'undo-done' && rollingBack && !opts.verbose) {
      w(`  undone [${e.step.id}] ${e.step.subject}: ${e.step.undo?.op ?? e.step.op.op}`);
      return;
    }
    switch (e.type) {
      case 'notice':
        w(`${e.level === 'warning' ? 'warning' : 'note'}: ${e.message}`);
        break;
      case 'phase':
        if (opts.verbose) v(`${e.phase} ${e.lab}: ${e.state}`);
        else if (e.state === 'start' && e.phase !== 'checks') w(`${e.phase} ${e.lab}…`);
        break;
      case 'step-done':
        v(`  ✓ [${e.step.id}] ${e.step.subject}: ${e.step.op.op}${e.skipped ? ' (already there)' : ''} (${Math.round(e.durationMs)} ms)`);
        break;
      case 'step-failed':
        w(`  ✗ [${e.step.id}] ${describeFailure(e.failure)}`);
        break;
      case 'undo-done':
        v(`  ✓ undo [${e.step.id}] ${e.step.subject}: ${e.step.undo?.op ?? e.step.op.op} (${Math.round(e.durationMs)} ms)`);
        break;
      case 'undo-failed':
        w(`  ✗ undo [${e.step.id}] ${describeFailure(e.failure)}`);
        break;
      case 'check-start':
        v(`  … check ${e.check.name} (${e.check.kind})`);
        break;
      case 'check-done':
        v(`  ${e.result.status === 'passed' ? '✓' : e.result.status === 'skipped' ? '–' : '✗'} check ${e.result.name}: ${e.result.status} (${Math.round(e.result.durationMs)} ms)`);
        break;
      case 'action-start':
        v(`  … step ${e.step.name} (${e.step.kind})`);
        break;
      case 'inner-check-start':
        v(`    … check ${e.parent} › ${e.check.name} (${e.check.kind})`);
        break;
      case 'inner-check-done':
        v(`    ${e.result.status === 'passed' ? '✓' : '✗'} check ${e.parent} › ${e.result.name}: ${e.result.status} (${Math.round(e.result.durationMs)} ms)`);
        break;
      default:
        break;
    }
  });
}
