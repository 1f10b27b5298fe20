/**
 * Follows the guest's serial console without showing it: recognises our markers and kernel
 * panics, and keeps the last lines for error messages.
 */
import { MARKER } from './markers.js';

export type ConsoleEvent =
  | { kind: 'init' }
  | { kind: 'ready' }
  | { kind: 'exit'; code: number }
  | { kind: 'fail'; what: string }
  | { kind: 'panic'; line: string };

const PANIC = /Kernel panic - not syncing|BUG: kernel NULL pointer|Oops: |general protection fault/;

export class ConsoleWatcher {
  private partial = '';
  private readonly tail: string[] = [];
  /** The first panic headline: kept even after a long call trace pushes it out of the tail. */
  private panicLine: string | undefined;
  readonly events: ConsoleEvent[] = [];

  constructor(
    private readonly onEvent: (e: ConsoleEvent) => void = () => {},
    private readonly keep = 30,
  ) {}

  /** Feed raw console text (any chunking). */
  feed(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.line(l);
  }

  /** The last console lines (markers excluded), including an unterminated last line. */
  lastLines(): string[] {
    const all = this.partial.trim() ? [...this.tail, clean(this.partial)] : [...this.tail];
    const last = all.slice(-this.keep);
    if (this.panicLine && !last.includes(this.panicLine)) return [this.panicLine, '…', ...last.slice(2)];
    return last;
  }

  private emit(e: ConsoleEvent): void {
    this.events.push(e);
    this.onEvent(e);
  }

  private line(raw: string): void {
    const line = clean(raw);
    if (line === MARKER.init) return this.emit({ kind: 'init' });
    if (line === MARKER.ready) return this.emit({ kind: 'ready' });
    const exit = new RegExp(`^${MARKER.exit} (\\d+)$`).exec(line);
    if (exit) return this.emit({ kind: 'exit', code: Number(exit[1]) });
    if (line.startsWith(MARKER.fail + ' ')) {
      this.emit({ kind: 'fail', what: line.slice(MARKER.fail.length + 1) });
    } else if (PANIC.test(line)) {
      this.panicLine ??= line;
      this.emit({ kind: 'panic', line });
    }
    if (line) {
      this.tail.push(line);
      if (this.tail.length > this.keep) this.tail.shift();
    }
  }
}

/** Drop carriage returns and terminal escape sequences the firmware or kernel may print. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r/g, '').trimEnd();
}
