/**
 * A ping without a ping process: raw ICMP sockets opened inside the source's network namespace
 * (setns, socket, setns back — as the netlink backend opens its sockets), echo requests sent from
 * this process, replies and ICMP errors read through one shared poll loop (reactor.ts), RTTs from
 * the kernel's receive timestamps. It follows iputils' `ping -c N -i I -w D` step by step:
 *
 * - a UDP socket is connected to the destination first, as ping does to pick its route; when that
 *   fails, nothing is sent and the same words are printed (`ping: connect: Network is unreachable`);
 * - probe k (icmp_seq k) goes out at (k-1)·interval;
 * - with a deadline, -c counts answers: probes go on until replies + ICMP errors reach `count`;
 *   it ends then, at the first batch of ICMP errors (ping: `if (deadline && nerrors) break`),
 *   or at the deadline (-w), whichever is first (the per-reply wait -W only paces retries);
 * - -Q, -t, -I (device or address) map to IP_TOS/IPV6_TCLASS, IP_TTL/IPV6_UNICAST_HOPS,
 *   SO_BINDTODEVICE or bind().
 * DF/-M probes are not done here (see canPingInProcess): ping reports a local "message too long"
 * with the route's MTU through its error queue, which the MTU check relies on.
 *
 * The result is ping's own report (transcript.ts), judged by the same parser and verdict.
 */
import { closeSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Family } from '../../model/types.js';
import type { PingArgs } from '../ping.js';
import { loadIcmpLibc, type IcmpLibc } from './native.js';
import { echoRequest, parseIncoming, sockaddr, addressOf } from './packet.js';
import { Reactor } from './reactor.js';
import { transcript, type ProbeLog } from './transcript.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const SO_SNDBUF = 7;
const IPPROTO_IP = 0;
const IP_TOS = 1;
const IP_TTL = 2;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_TCLASS = 67;
const SIOCGSTAMPNS = 0x8907;
const CLOCK_REALTIME = 0;
const MSG_DONTWAIT = 0x40;
const CLONE_NEWNET = 0x40000000;
const EPERM = 1;
const EAGAIN = 11;
const ENOMEM = 12;
const EACCES = 13;
const ENOBUFS = 105;

/** The in-process path cannot be used here (no FFI, not root): the caller runs ping instead. */
export class InProcessUnavailable extends Error {}

let reactor: Reactor | undefined;
// Seeded on first use, not at module evaluation: the CLI's startup snapshot (cli/snapshot.ts)
// evaluates modules once at build time, and every process would start from the same id.
let nextId: number | undefined;

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

function realtimeNs(c: IcmpLibc, ts: Buffer): bigint {
  c.clock_gettime(CLOCK_REALTIME, ts);
  return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
}

interface Sockets {
  raw: number;
  probe: number;
}

/** Open the raw and the route-probe socket inside `ns`; the thread is back home before this returns. */
function openSockets(c: IcmpLibc, ns: string | undefined, family: Family): Sockets | { stderr: string } {
  let nsFd: number | undefined;
  let home: number | undefined;
  if (ns) {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns)) return { stderr: `Cannot open network namespace "${ns}": Invalid argument` };
    try {
      nsFd = openSync(`/run/netns/${ns}`, 'r');
    } catch (e) {
      // `ip netns exec`'s words, so the check's error reads as before.
      return { stderr: `Cannot open network namespace "${ns}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}` };
    }
    home = openSync('/proc/thread-self/ns/net', 'r');
  }
  const af = family === 'ipv6' ? AF_INET6 : AF_INET;
  let raw = -1;
  let probe = -1;
  let errno = 0;
  try {
    if (nsFd !== undefined && c.setns(nsFd, CLONE_NEWNET) < 0) return { stderr: `setting the network namespace "${ns}" failed: ${c.strerror(c.errno())}` };
    try {
      raw = c.socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, family === 'ipv6' ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
      if (raw < 0) errno = c.errno();
      else probe = c.socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    } finally {
      if (home !== undefined && c.setns(home, CLONE_NEWNET) < 0) {
        // Going on would run the rest of the program inside a lab namespace: stop hard.
        process.stderr.write(`geneve-lab: FATAL: cannot return to the original network namespace (errno ${c.errno()})\n`);
        process.exit(70);
      }
    }
  } finally {
    if (nsFd !== undefined) closeSync(nsFd);
    if (home !== undefined) closeSync(home);
  }
  if (raw < 0) {
    if (errno === EPERM || errno === EACCES) throw new InProcessUnavailable(`raw ICMP socket: ${c.strerror(errno)} (needs root / CAP_NET_RAW)`);
    return { stderr: `ping: socket: ${c.strerror(errno)}` };
  }
  return { raw, probe };
}

/** Apply -I, -Q, -t to a socket; a ping-style error line when the kernel refuses. */
function configure(c: IcmpLibc, fd: number, a: PingArgs, what: 'raw' | 'probe'): string | undefined {
  const v6 = a.family === 'ipv6';
  if (a.source !== undefined) {
    if (isIP(a.source)) {
      const sa = sockaddr(a.family, a.source);
      if (c.bind(fd, sa, sa.length) < 0) return `ping: bind: ${c.strerror(c.errno())}`;
    } else {
      const dev = Buffer.from(`${a.source}\0`);
      if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length) < 0) return `ping: SO_BINDTODEVICE ${a.source}: ${c.strerror(c.errno())}`;
    }
  }
  if (what === 'probe') return undefined;
  if (a.tos !== undefined && c.setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS, int32(a.tos), 4) < 0) return `ping: setsockopt(${v6 ? 'IPV6_TCLASS' : 'IP_TOS'}): ${c.strerror(c.errno())}`;
  if (a.ttl !== undefined && c.setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, int32(a.ttl), 4) < 0) return `ping: can't set unicast time-to-live: ${c.strerror(c.errno())}`;
  // ping's send buffer (iputils sock_setbufs: payload + 8, plus per 512 bytes the headers it
  // expects). It decides how many probes can wait for an unresolved neighbour before a send
  // would block — ping then waits instead of counting the probe — so "12 packets transmitted"
  // toward an absent host reads the same both ways.
  const hold = a.size + 8 + Math.floor((a.size + 8 + 511) / 512) * ((v6 ? 40 : 20) + 16 + 64 + 160);
  c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, int32(hold), 4);
  // Kernel receive timestamps: the first SIOCGSTAMPNS turns them on for the socket (and fails,
  // nothing was received yet); then each read gives its packet's arrival time, so RTTs do not
  // include the poll thread's wake-up and our own scheduling.
  c.ioctl(fd, SIOCGSTAMPNS, Buffer.alloc(16));
  return undefined;
}

/** ping's report (stdout, stderr) for one ping check run in-process from namespace `ns`. */
export async function pingInProcess(ns: string | undefined, a: PingArgs, signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  let c: IcmpLibc;
  try {
    c = loadIcmpLibc();
  } catch (e) {
    throw new InProcessUnavailable((e as Error).message);
  }
  const opened = openSockets(c, ns, a.family);
  if ('stderr' in opened) return { stdout: '', stderr: `${opened.stderr}\n` };
  const { raw, probe } = opened;
  let rawOwned = true;
  try {
    // The route probe, as ping does it: a UDP socket connected to the destination.
    const why = configure(c, probe, a, 'probe') ?? configure(c, raw, a, 'raw');
    if (why) return { stdout: '', stderr: `${why}\n` };
    const dest = sockaddr(a.family, a.address, 1025);
    if (c.connect(probe, dest, dest.length) < 0) {
      const e = c.errno();
      const line = e === EACCES && a.family === 'ipv4' ? 'ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules' : `ping: connect: ${c.strerror(e)}`;
      return { stdout: '', stderr: `${line}\n` };
    }
    reactor ??= new Reactor(c);
    rawOwned = false;
    return await exchange(c, reactor, raw, a, signal);
  } finally {
    c.close(probe);
    if (rawOwned) c.close(raw);
  }
}

/** Send the probes on `raw` and collect what comes back; the reactor closes `raw` at the end. */
function exchange(c: IcmpLibc, r: Reactor, raw: number, a: PingArgs, signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  const id = (nextId = ((nextId ?? process.pid * 7919 + Date.now()) + 1) & 0xffff);
  const to = sockaddr(a.family, a.address);
  const ts = Buffer.alloc(16);
  const sentAt = new Map<number, bigint>();
  const log: ProbeLog = { address: a.address, family: a.family, size: a.size, transmitted: 0, replies: [], errors: [], duplicates: 0, stderr: [], elapsedMs: 0 };
  const answered = new Set<number>();
  const buf = Buffer.alloc(65536);
  const from = Buffer.alloc(28);
  const fromLen = Buffer.alloc(4);
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    let finished = false;
    let oom = 0;
    let sendTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(sendTimer);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', finish);
      r.remove(raw);
      log.elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolve(transcript(log));
    };
    const settled = () => log.replies.length + log.errors.length >= a.count;
    const onReadable = () => {
      for (;;) {
        fromLen.writeUInt32LE(from.length);
        const n = c.recvfrom(raw, buf, buf.length, MSG_DONTWAIT, from, fromLen);
        if (n < 0) break;
        const stamp = c.ioctl(raw, SIOCGSTAMPNS, ts) === 0 ? ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8) : realtimeNs(c, ts);
        const m = parseIncoming(a.family, buf.subarray(0, n));
        if (!m || m.id !== id || !sentAt.has(m.seq) || finished) continue;
        if (m.kind === 'reply') {
          if (answered.has(m.seq)) {
            log.duplicates++;
            continue;
          }
          answered.add(m.seq);
          log.replies.push({ seq: m.seq, from: addressOf(from), rttMs: Number(stamp - sentAt.get(m.seq)!) / 1e6 });
        } else {
          log.errors.push({ seq: m.seq, from: addressOf(from), text: m.text });
        }
      }
      // ping's main loop reads everything queued, then looks: enough answers, or — with a
      // deadline (always given here) — any ICMP error at all ends it.
      if (settled() || log.errors.length > 0) finish();
    };
    const send = () => {
      if (finished) return;
      const seq = log.transmitted + 1;
      const pkt = echoRequest(a.family, id, seq, a.size);
      const t = realtimeNs(c, ts);
      if (c.sendto(raw, pkt, pkt.length, MSG_DONTWAIT, to, to.length) < 0) {
        const e = c.errno();
        // iputils pinger(): a full socket buffer is not a probe — try again in 10 ms. A full
        // queue (ENOBUFS: probes waiting for an unresolved neighbour fill the small send
        // buffer) is retried while oom_count × min(interval/2, 500 ms) stays under the reply
        // wait (-W); ping's send tokens were emptied, so each retry comes an interval later.
        // oom_count only goes back to zero on a successful send.
        if (e === EAGAIN) {
          sendTimer = setTimeout(send, 10);
          return;
        }
        if ((e === ENOBUFS || e === ENOMEM) && ++oom * Math.max(10, Math.min(a.intervalMs / 2, 500)) < (a.waitS ?? 1) * 1000) {
          sendTimer = setTimeout(send, Math.max(10, a.intervalMs));
          return;
        }
        // A hard local error: ping says so and "pretends we sent the packet" (iputils' words):
        // it counts as transmitted and lost, not as an ICMP error.
        log.transmitted = seq;
        log.stderr.push(`ping: sendmsg: ${c.strerror(e)}`);
      } else {
        log.transmitted = seq;
        sentAt.set(seq, t);
        oom = 0;
      }
      // With a deadline, -c counts answers, not probes: ping keeps sending until `count` replies
      // and errors came back or the deadline passed.
      sendTimer = setTimeout(send, a.intervalMs);
    };
    const deadline = setTimeout(finish, a.deadlineS * 1000);
    signal?.addEventListener('abort', finish);
    r.add(raw, onReadable);
    send();
  });
}
