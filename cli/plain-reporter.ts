/** The plain-text progress reporter for `up`/`down`: subscribes to engine events, prints lines. */
import type { EventBus } from '../lib/engine/events.js';
import { describeFailure } from '../lib/errors.js';

export function attachPlainReporter(bus: EventBus, opts: { verbose: boolean; out?: NodeJS.WritableStream }): () => void {
  const out = opts.out ?? process.stderr;
  const w = (s: string) => out.write(s + '\n');
  return bus.on((e) => {
    switch (e.type) {
      case 'notice':
        w(`${e.level === 'warning' ? 'warning' : 'note'}: ${e.message}`);
        break;
      case 'phase':
        if (e.state === 'start' && e.phase !== 'checks') w(`${e.phase} ${e.lab}…`);
        break;
      case 'step-done':
        if (opts.verbose) w(`  ✓ [${e.step.id}] ${e.step.subject}: ${e.step.op.op} (${e.durationMs} ms)`);
        break;
      case 'step-failed':
        w(`  ✗ [${e.step.id}] ${describeFailure(e.failure)}`);
        break;
      case 'undo-failed':
        w(`  ✗ undo [${e.step.id}] ${describeFailure(e.failure)}`);
        break;
      default:
        break;
    }
  });
}
