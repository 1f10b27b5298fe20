/**
 * Interruption inside the engine: an AbortSignal (the CLI aborts it on SIGINT/SIGTERM, see
 * cli/interrupt.ts) is checked between steps, never in the middle of one, so `up` stops issuing
 * steps, rolls back what it made and reports an InterruptedError (exit 130/143). Nothing here
 * calls process.exit: the engine always gets to finish or undo.
 *
 * Also the crash-test hook: with GENEVE_LAB_PAUSE_AFTER_STEP=N the process announces and pauses
 * after step N, so a test can kill -9 it at a known point, send it SIGINT/SIGTERM (the pause
 * ends as an interruption), or let it go on with SIGCONT (e.g. after creating a namespace in its
 * way).
 */

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** Thrown between steps once the signal is aborted; the engine turns it into rollback + InterruptedError. */
export class Interrupted extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
  }
}

/** Which signal an aborted AbortSignal stands for (its reason, as cli/interrupt.ts sets it). */
export function signalOf(signal: AbortSignal | undefined): InterruptSignal {
  return signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
}

export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Interrupted(signalOf(signal));
}

/** See the module comment. Resolves on SIGCONT or when `signal` aborts; never returns otherwise. */
export async function crashTestPause(stepId: number, signal?: AbortSignal): Promise<void> {
  const at = Number(process.env.GENEVE_LAB_PAUSE_AFTER_STEP);
  if (!at || stepId !== at) return;
  process.stderr.write(`geneve-lab: paused after step ${stepId} (GENEVE_LAB_PAUSE_AFTER_STEP)\n`);
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const done = () => {
      clearInterval(keepAlive);
      process.off('SIGCONT', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    process.on('SIGCONT', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Crash-test hook for undoing: with GENEVE_LAB_PAUSE_BEFORE_UNDO=1 a rollback/down/gc announces
 * and pauses before its first undo until SIGCONT (not on Ctrl-C: a test presses Ctrl-C here to
 * see the "press again to abandon" answer, then abandons).
 */
export async function crashTestPauseBeforeUndo(): Promise<void> {
  if (process.env.GENEVE_LAB_PAUSE_BEFORE_UNDO !== '1') return;
  process.stderr.write('geneve-lab: paused before undoing (GENEVE_LAB_PAUSE_BEFORE_UNDO)\n');
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    process.once('SIGCONT', () => {
      clearInterval(keepAlive);
      resolve();
    });
  });
}
