/**
 * The libc calls the in-process pinger needs, through koffi (as lib/backends/netlink/native.ts
 * and lib/scenario/packet-socket.ts do): Node has no raw sockets, no setns(2), and no way to wait
 * on a foreign fd. `pollAsync` runs poll(2) on one of koffi's worker threads so the JS thread
 * stays free while probes are in flight; everything else is a short synchronous call.
 */
import { loadLibc } from '../../native/libc.js';

export interface IcmpLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, alen: Buffer): number;
  /** ioctl(fd, SIOCGSTAMPNS, &timespec): the kernel's receive time of the last packet read. */
  ioctl(fd: number, req: number, arg: Buffer): number;
  clock_gettime(clock: number, ts: Buffer): number;
  read(fd: number, buf: Buffer, len: number): number;
  write(fd: number, buf: Buffer, len: number): number;
  eventfd(initval: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  strerror(errnum: number): string;
  errno(): number;
  /** poll(2) on a worker thread; the callback gets its return value (or -errno). */
  pollAsync(fds: Buffer, nfds: number, timeoutMs: number, cb: (rc: number) => void): void;
}

let cached: IcmpLibc | undefined;

/** Load the calls; throws an Error saying why when the FFI cannot load (callers fall back to ping processes). */
export function loadIcmpLibc(): IcmpLibc {
  if (cached) return cached;
  const { koffi, func: f } = loadLibc('in-process ICMP');
  // errno is read on the worker thread right after poll returns, where koffi keeps it.
  const poll = f('int poll(_Inout_ void *, unsigned long, int)');
  const errnoOf = () => koffi.errno() as number;
  cached = {
    socket: f('int socket(int, int, int)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    connect: f('int connect(int, const void *, uint32_t)'),
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
    sendto: f('long sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvfrom: f('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ void *)'),
    ioctl: f('int ioctl(int, unsigned long, _Out_ void *)'),
    clock_gettime: f('int clock_gettime(int, _Out_ void *)'),
    read: f('long read(int, _Out_ void *, size_t)'),
    write: f('long write(int, const void *, size_t)'),
    eventfd: f('int eventfd(unsigned int, int)'),
    close: f('int close(int)'),
    setns: f('int setns(int, int)'),
    strerror: f('const char *strerror(int)'),
    errno: errnoOf,
    pollAsync(fds, nfds, timeoutMs, cb) {
      poll.async(fds, nfds, timeoutMs, (err: unknown, rc: number) => cb(err ? -1 : rc));
    },
  };
  return cached;
}
