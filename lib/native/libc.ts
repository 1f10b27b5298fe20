/**
 * libc through koffi, loaded once: the netlink backend and the in-process ICMP prober both call
 * libc directly (socket/setns/poll). Throws an Error saying why when the FFI cannot load, so each
 * caller can say what it falls back to.
 */
import { createRequire } from 'node:module';

export interface Libc {
  // koffi has no types of its own here; callers type the functions they declare.
  koffi: any;
  /** Declare one libc function by its C signature. */
  func(signature: string): any;
}

let cached: Libc | undefined;

export function loadLibc(who: string): Libc {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new Error(`${who} needs Linux (this is ${process.platform})`);
  const require = createRequire(import.meta.url);
  let koffi: any;
  try {
    koffi = require('koffi');
  } catch (e) {
    throw new Error(`cannot load the koffi FFI package (${(e as Error).message.split('\n')[0]})`);
  }
  const lib = koffi.load('libc.so.6');
  cached = { koffi, func: (sig: string) => lib.func(sig) };
  return cached;
}
