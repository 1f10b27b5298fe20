/**
 * Raw Ethernet frames out of an interface in a named network namespace, from this process: an
 * AF_PACKET socket made inside the namespace (through koffi, as the netlink backend makes its
 * sockets: lib/backends/netlink/native.ts), bound to the interface, one send() per frame. The frame
 * goes to the device's transmit path as written — no checksum, length or header fix-ups — which is
 * the point: malformed Geneve (bad option lengths, critical options, wrong VNIs) must reach the
 * receiver unchanged. No Python, no scapy, no helper process.
 *
 * The thread enters the namespace (setns) only to create the socket and look the interface up,
 * then returns at once; all of it is synchronous, so nothing else runs in the namespace meanwhile.
 * A packet socket keeps the namespace it was created in.
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const CLONE_NEWNET = 0x40000000;
const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 6: 'ENXIO', 12: 'ENOMEM', 13: 'EACCES', 19: 'ENODEV', 22: 'EINVAL', 90: 'EMSGSIZE', 100: 'ENETDOWN', 105: 'ENOBUFS' };

interface PacketLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  if_nametoindex(name: string): number;
  errno(): number;
}

let libc: PacketLibc | undefined;

function load(): PacketLibc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new Error(`raw frames need Linux (this is ${process.platform})`);
  const require = createRequire(import.meta.url);
  let koffi: any;
  try {
    koffi = require('koffi');
  } catch (e) {
    throw new Error(`cannot load the koffi FFI package to open a packet socket (${(e as Error).message.split('\n')[0]})`);
  }
  const lib = koffi.load('libc.so.6');
  const f = (sig: string) => lib.func(sig);
  libc = {
    socket: f('int socket(int, int, int)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    send: f('long send(int, const void *, size_t, int)'),
    close: f('int close(int)'),
    setns: f('int setns(int, int)'),
    if_nametoindex: f('unsigned int if_nametoindex(const char *)'),
    errno: () => koffi.errno() as number,
  };
  return libc;
}

export class PacketSocketError extends Error {
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

const errnoName = (n: number) => ERRNO[n] ?? `errno ${n}`;

/** struct sockaddr_ll for bind(): family, protocol 0 (send only: nothing is queued to us), ifindex. */
function sockaddrLl(ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16LE(AF_PACKET, 0);
  b.writeUInt16BE(0, 2);
  b.writeInt32LE(ifindex, 4);
  return b;
}

export interface OpenPacketSocket {
  ifindex: number;
  send(frame: Buffer): void;
  close(): void;
}

/** A send-only packet socket on `ifname` in namespace `ns` ('' = this process's namespace). */
export function openPacketSocket(ns: string, ifname: string): OpenPacketSocket {
  const c = load();
  const where = ns ? `interface "${ifname}" in netns ${ns}` : `interface "${ifname}"`;
  let nsFd: number | undefined;
  let home: number | undefined;
  if (ns) {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns)) throw new PacketSocketError(`invalid namespace name "${ns}"`);
    try {
      nsFd = openSync(`/run/netns/${ns}`, 'r');
    } catch (e) {
      throw new PacketSocketError(`namespace ${ns} does not exist (is the lab up?)`, (e as NodeJS.ErrnoException).code);
    }
    home = openSync('/proc/thread-self/ns/net', 'r');
  }
  let fd = -1;
  let ifindex = 0;
  let failure: PacketSocketError | undefined;
  try {
    if (nsFd !== undefined && c.setns(nsFd, CLONE_NEWNET) < 0) throw new PacketSocketError(`cannot enter netns ${ns}: ${errnoName(c.errno())}`, errnoName(c.errno()));
    try {
      fd = c.socket(AF_PACKET, SOCK_RAW, 0);
      if (fd < 0) {
        const e = errnoName(c.errno());
        throw new PacketSocketError(`cannot open a packet socket in ${ns ? `netns ${ns}` : 'this namespace'}: ${e}${e === 'EPERM' ? ' (needs root / CAP_NET_RAW)' : ''}`, e);
      }
      ifindex = c.if_nametoindex(ifname);
      if (!ifindex) throw new PacketSocketError(`no ${where}`, 'ENODEV');
    } finally {
      if (home !== undefined && c.setns(home, CLONE_NEWNET) < 0) {
        // Going on would run the rest of the program in a lab namespace: stop hard.
        process.stderr.write(`geneve-lab: FATAL: cannot return to the original network namespace (errno ${c.errno()})\n`);
        process.exit(70);
      }
    }
    const addr = sockaddrLl(ifindex);
    if (c.bind(fd, addr, addr.length) < 0) throw new PacketSocketError(`cannot bind a packet socket to ${where}: ${errnoName(c.errno())}`, errnoName(c.errno()));
  } catch (e) {
    failure = e instanceof PacketSocketError ? e : new PacketSocketError((e as Error).message);
  } finally {
    if (nsFd !== undefined) closeSync(nsFd);
    if (home !== undefined) closeSync(home);
  }
  if (failure) {
    if (fd >= 0) c.close(fd);
    throw failure;
  }
  let open = true;
  return {
    ifindex,
    send(frame: Buffer) {
      if (!open) throw new PacketSocketError('packet socket is closed');
      const n = c.send(fd, frame, frame.length, 0);
      if (n < 0) {
        const e = errnoName(c.errno());
        const hint = e === 'EMSGSIZE' ? ` (the frame is ${frame.length} bytes; larger than the interface's MTU + 14?)` : e === 'ENETDOWN' ? ' (the interface is down)' : '';
        throw new PacketSocketError(`sending ${frame.length} bytes on ${where} failed: ${e}${hint}`, e);
      }
      if (n !== frame.length) throw new PacketSocketError(`sending on ${where}: only ${n} of ${frame.length} bytes were sent`);
    },
    close() {
      if (open) c.close(fd);
      open = false;
    },
  };
}
