/**
 * Ctrl-C and SIGTERM for the commands that change a lab. The first signal never kills the
 * process: it aborts an AbortController that the engine and the checks watch (they stop issuing
 * steps / end their helper processes, then roll back or report), so the lab is never left half
 * built. While something is being undone (rollback, down, gc), a further Ctrl-C only says how to
 * abandon; the next one abandons (exit 130/143 at once): the state file then names a dead owner
 * and `geneve-lab gc` finishes the job.
 */
import type { EventBus } from '../lib/engine/events.js';
import { ExitCode } from '../lib/errors.js';
import type { InterruptSignal } from '../lib/engine/signals.js';

export interface InterruptOptions {
  /**
   * Whether the first signal aborts the work (`up`, `run`, `check`), or the work is undoing
   * from the start (`down`, `gc`) and is only ever abandoned.
   */
  abortable: boolean;
  out?: NodeJS.WritableStream;
  /** For tests: what abandoning does (default process.exit). */
  exit?: (code: number) => void;
}

export class Interrupts {
  readonly controller = new AbortController();
  private undoing = false;
  private warned = false;
  private received: InterruptSignal | undefined;
  private readonly offBus: () => void;
  private readonly handlers: [InterruptSignal, () => void][];

  constructor(
    bus: EventBus,
    private readonly opts: InterruptOptions,
  ) {
    this.undoing = !opts.abortable;
    this.offBus = bus.on((e) => {
      if (e.type !== 'phase') return;
      if (e.phase === 'rollback' || e.phase === 'down' || e.phase === 'gc') this.undoing = e.state === 'start';
    });
    this.handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => [sig, () => this.press(sig)]);
    for (const [sig, h] of this.handlers) process.on(sig, h);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The first signal received, if any. */
  get signalled(): InterruptSignal | undefined {
    return this.received;
  }

  /** The exit code for the signal received (130 SIGINT, 143 SIGTERM). */
  get exitCode(): number {
    return this.received === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
  }

  private say(line: string): void {
    try {
      (this.opts.out ?? process.stderr).write(`geneve-lab: ${line}\n`);
    } catch {
      /* the terminal is gone: the work goes on regardless */
    }
  }

  /** One SIGINT/SIGTERM. */
  press(sig: InterruptSignal): void {
    this.received ??= sig;
    if (!this.controller.signal.aborted && this.opts.abortable) {
      this.controller.abort(sig);
      this.say(`${sig}: stopping (the current step finishes, then what was made is undone)…`);
      return;
    }
    if (!this.warned) {
      this.warned = true;
      this.say(this.undoing ? 'rolling back, press again to abandon (gc will finish)' : 'stopping, press again to abandon (gc will finish)');
      return;
    }
    this.say('abandoned: run `geneve-lab gc` to finish removing what is left');
    (this.opts.exit ?? ((c: number) => process.exit(c)))(this.exitCode);
  }

  dispose(): void {
    this.offBus();
    for (const [sig, h] of this.handlers) process.off(sig, h);
  }
}
