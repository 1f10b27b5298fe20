/**
 * One poll(2) loop for every in-process ICMP socket of the process: a single koffi worker
 * thread waits on all of them at once (plus an eventfd to be woken when the set changes), and
 * the JS thread reads whatever became readable. 90 concurrent probes cost one waiting thread,
 * not 90, and no timer spins while nothing arrives.
 *
 * An fd is never closed while the worker may be polling it (the number could be reused by an
 * unrelated open in between): `remove` wakes the worker and closes after poll has returned.
 */
import type { IcmpLibc } from './native.js';

const POLLIN = 0x1;
const POLLERR = 0x8;
const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;
/** Upper bound of one wait; wake-ups come through the eventfd, this only bounds a lost one. */
const MAX_WAIT_MS = 1000;

export class Reactor {
  private readonly handlers = new Map<number, () => void>();
  private readonly toClose: number[] = [];
  private polling = false;
  private readonly wakeFd: number;
  private readonly one = Buffer.alloc(8);

  constructor(private readonly c: IcmpLibc) {
    this.wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) throw new Error(`eventfd: ${c.strerror(c.errno())}`);
    this.one.writeBigUInt64LE(1n);
  }

  /** Call `onReadable` (on the JS thread) whenever `fd` has something to read. */
  add(fd: number, onReadable: () => void): void {
    this.handlers.set(fd, onReadable);
    if (this.polling) this.wake();
    else this.loop();
  }

  /** Stop watching `fd` and close it (now if no poll is in flight, else as soon as it returns). */
  remove(fd: number): void {
    this.handlers.delete(fd);
    if (!this.polling) {
      this.c.close(fd);
      return;
    }
    this.toClose.push(fd);
    this.wake();
  }

  private wake(): void {
    this.c.write(this.wakeFd, this.one, 8);
  }

  private loop(): void {
    if (this.handlers.size === 0) return;
    const fds = [this.wakeFd, ...this.handlers.keys()];
    const set = Buffer.alloc(8 * fds.length); // struct pollfd { int fd; short events; short revents; }
    fds.forEach((fd, i) => {
      set.writeInt32LE(fd, i * 8);
      set.writeInt16LE(POLLIN, i * 8 + 4);
    });
    this.polling = true;
    this.c.pollAsync(set, fds.length, MAX_WAIT_MS, () => {
      this.polling = false;
      for (const fd of this.toClose.splice(0)) this.c.close(fd);
      const drain = Buffer.alloc(8);
      while (this.c.read(this.wakeFd, drain, 8) === 8);
      for (let i = 1; i < fds.length; i++) {
        if (!(set.readInt16LE(i * 8 + 6) & (POLLIN | POLLERR))) continue;
        const h = this.handlers.get(fds[i]!);
        try {
          h?.();
        } catch {
          // A handler's failure is its prober's business; the loop goes on for the others.
        }
      }
      this.loop();
    });
  }
}
