/**
 * The few system calls Node does not offer, through koffi (an FFI package that ships
 * prebuilt binaries for linux-x64/arm64 inside the npm package, so nothing is compiled or
 * downloaded at install time).
 *
 * Why FFI and not the `netlink` npm package's socket: netlink 0.3.0 hides the socket fd and
 * has no setsockopt, so NETLINK_EXT_ACK (the kernel's error text) cannot be enabled, and it
 * has no setns(2). A private C addon would need a compiler and Node headers on every
 * machine. With koffi we own the whole socket (socket/bind/setsockopt/send/recv) and can
 * call setns/unshare/mount like iproute2.
 *
 * The `netlink` package (0.3.0, pinned) is therefore not used at run time. It stays as a
 * devDependency for what it does well: its pure-JS rtnetlink structs are an independent second
 * codec in test/pure/netlink/independent-codec.test.ts (it decodes our requests, encodes the
 * same ones for a byte comparison, and decodes captured kernel replies next to ours).
 *
 * Why synchronous send/recv is safe: rtnetlink handles a request inside the sender's
 * sendmsg() call, so the ACK/reply is already queued when send returns; dumps are
 * continued inside each recvmsg(). Nothing waits on the network. SO_RCVTIMEO bounds the
 * wait anyway so a kernel surprise cannot hang the process.
 */
import { loadLibc } from '../../native/libc.js';

export interface Native {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  mount(src: string | null, target: string, fstype: string | null, flags: number, data: null): number;
  umount2(target: string, flags: number): number;
  errno(): number;
}

export const CLONE_NEWNET = 0x40000000;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;

let cached: Native | undefined;

/** Load libc functions; throws an Error that says why when the FFI cannot load. */
export function loadNative(): Native {
  if (cached) return cached;
  const { koffi, func: f } = loadLibc('netlink backend');
  const n: Native = {
    socket: f('int socket(int, int, int)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
    send: f('long send(int, const void *, size_t, int)'),
    recv: f('long recv(int, _Out_ void *, size_t, int)'),
    close: f('int close(int)'),
    setns: f('int setns(int, int)'),
    unshare: f('int unshare(int)'),
    mount: f('int mount(const char *, const char *, const char *, unsigned long, const void *)'),
    umount2: f('int umount2(const char *, int)'),
    errno: () => koffi.errno() as number,
  };
  cached = n;
  return n;
}
