/**
 * One NETLINK_ROUTE socket, bound to the network namespace that was current for the calling
 * thread when it was created. Requests are synchronous (see native.ts for why that is safe).
 */
import { ERRNO_NAMES } from '../../errors.js';
import type { Native } from './native.js';
import { type NlMessage, splitMessages, decodeError } from './decode.js';
import * as C from './constants.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const MSG_TRUNC = 0x20;
const EINTR = 4;

/** Names errors.ts does not list yet (Linux x86-64 numbering), so no error shows as a bare number. */
const MORE_ERRNO_NAMES: Record<number, string> = {
  7: 'E2BIG', 20: 'ENOTDIR', 21: 'EISDIR', 23: 'ENFILE', 24: 'EMFILE', 28: 'ENOSPC', 31: 'EMLINK', 39: 'ENOTEMPTY',
  42: 'ENOMSG', 71: 'EPROTO', 75: 'EOVERFLOW', 100: 'ENETDOWN', 107: 'ENOTCONN', 110: 'ETIMEDOUT', 113: 'EHOSTUNREACH',
  524: 'ENOTSUPP',
};

/** A kernel refusal: errno plus the kernel's extended-ack text when it sent one. */
export class NetlinkError extends Error {
  readonly errnoName: string;
  constructor(
    readonly errno: number,
    readonly extack?: string,
  ) {
    const name = ERRNO_NAMES[errno] ?? MORE_ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${extack ?? 'kernel refused the request'} (${name})`);
    this.errnoName = name;
  }
}

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

/**
 * One receive buffer shared by every socket: requests are synchronous, so only one socket
 * reads at a time, and a lab with hundreds of namespaces does not pay 1 MiB per socket.
 */
const recvBuffer = Buffer.alloc(1 << 20);

export class NlSocket {
  private fd: number;
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;

  constructor(private readonly sys: Native) {
    const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, C.NETLINK_ROUTE);
    if (fd < 0) throw new NetlinkError(sys.errno(), 'cannot open a netlink socket');
    this.fd = fd;
    try {
      const addr = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
      addr.writeUInt16LE(AF_NETLINK, 0);
      this.check(sys.bind(fd, addr, 12), 'bind');
      this.check(sys.setsockopt(fd, C.SOL_NETLINK, C.NETLINK_EXT_ACK, int32(1), 4), 'NETLINK_EXT_ACK');
      // errors then echo only the request header, not the whole request
      this.check(sys.setsockopt(fd, C.SOL_NETLINK, C.NETLINK_CAP_ACK, int32(1), 4), 'NETLINK_CAP_ACK');
      this.check(sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int32(1 << 20), 4), 'SO_RCVBUF');
      this.check(sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, int32(1 << 20), 4), 'SO_SNDBUF');
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(5n, 0); // 5 s: only a kernel bug could make us wait this long
      this.check(sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), 'SO_RCVTIMEO');
    } catch (e) {
      sys.close(fd);
      throw e;
    }
  }

  private check(rc: number, what: string): void {
    if (rc < 0) throw new NetlinkError(this.sys.errno(), `netlink socket setup failed at ${what}`);
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private sendRaw(msg: Buffer): void {
    for (;;) {
      const n = this.sys.send(this.fd, msg, msg.length, 0);
      if (n === msg.length) return;
      const e = this.sys.errno();
      if (n < 0 && e === EINTR) continue;
      throw new NetlinkError(n < 0 ? e : 0, 'netlink send failed');
    }
  }

  private recvBatch(): NlMessage[] {
    for (;;) {
      const n = this.sys.recv(this.fd, recvBuffer, recvBuffer.length, MSG_TRUNC);
      if (n < 0) {
        const e = this.sys.errno();
        if (e === EINTR) continue;
        throw new NetlinkError(e, e === 11 ? 'no reply from the kernel within 5 s' : 'netlink receive failed');
      }
      if (n > recvBuffer.length) throw new Error(`netlink reply of ${n} bytes exceeds the receive buffer`);
      return splitMessages(Buffer.from(recvBuffer.subarray(0, n)));
    }
  }

  /**
   * Send one request (its seq must come from nextSeq()) and collect the replies that belong
   * to it: data messages until the ACK (requests with NLM_F_ACK), until NLMSG_DONE (dumps),
   * or the single reply (plain GET). Throws NetlinkError on an error reply.
   */
  request(msg: Buffer): NlMessage[] {
    const seq = msg.readUInt32LE(8);
    const flags = msg.readUInt16LE(6);
    const isDump = (flags & C.NLM_F_DUMP) === C.NLM_F_DUMP;
    const wantsAck = (flags & C.NLM_F_ACK) !== 0;
    this.sendRaw(msg);
    const out: NlMessage[] = [];
    for (;;) {
      for (const m of this.recvBatch()) {
        if (m.seq !== seq) continue; // a late reply to an earlier request
        if (m.type === C.NLMSG_ERROR) {
          const { errno, extack } = decodeError(m);
          if (errno !== 0) throw new NetlinkError(errno, extack);
          return out; // ACK
        }
        if (m.type === C.NLMSG_DONE) return out;
        out.push(m);
        if (!isDump && !wantsAck) return out;
      }
    }
  }

  close(): void {
    if (this.fd >= 0) this.sys.close(this.fd);
    this.fd = -1;
  }
}
