/**
 * Network namespaces without spawning `ip netns`: named namespaces are bind mounts under
 * /run/netns (the iproute2 convention, so `ip netns`, `ip -n` and other tools see ours).
 *
 * A netlink socket stays in the namespace that was current for the creating thread. We
 * switch the main JS thread with setns(2), open the socket, and switch back at once; setns
 * only affects the calling thread, and nothing else runs on it in between (all of this is
 * synchronous), so libuv worker threads and other code never observe the switch.
 */
import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { NlSocket, NetlinkError } from './socket.js';
import { type Native, CLONE_NEWNET, MS_BIND, MS_REC, MS_SHARED, MNT_DETACH } from './native.js';

export const NETNS_RUN_DIR = '/run/netns';
const EINVAL = 22;

export class Namespaces {
  private readonly home: number;
  private readonly sockets = new Map<string, NlSocket>();
  /** An open fd per namespace we entered or pointed a veth peer at (no path lookup each time). */
  private readonly fds = new Map<string, number>();
  /** The nsfs inode of the namespace our socket/fd for a name belongs to (see revalidate). */
  private readonly inodes = new Map<string, number>();
  private runDirShared = false;

  constructor(private readonly sys: Native) {
    // our own namespace, to come back to after each switch
    this.home = openSync('/proc/thread-self/ns/net', 'r');
  }

  path(ns: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns) || ns === '.' || ns === '..') throw new Error(`invalid namespace name "${ns}"`);
    return `${NETNS_RUN_DIR}/${ns}`;
  }

  /** An fd for the namespace (caller closes it); '' is our own namespace. */
  openFd(ns: string): number {
    if (ns === '') return openSync('/proc/thread-self/ns/net', 'r');
    const path = this.path(ns);
    try {
      return openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw Object.assign(new Error(`namespace "${ns}" does not exist (no ${path})`), { code });
      throw e;
    }
  }

  closeFd(fd: number): void {
    closeSync(fd);
  }

  /** A cached fd for a named namespace (owned here: closed by del/forget/close); '' is ours. */
  fdOf(ns: string): number {
    if (ns === '') return this.home;
    let fd = this.fds.get(ns);
    if (fd === undefined) {
      fd = this.openFd(ns);
      const ino = fstatSync(fd).ino;
      if (this.inodes.has(ns) && this.inodes.get(ns) !== ino) this.forget(ns); // re-created meanwhile
      this.fds.set(ns, fd);
      this.inodes.set(ns, ino);
    }
    return fd;
  }

  /** Run `fn` with this thread inside `ns`, then come back (even when fn throws). */
  within<T>(ns: string, fn: () => T): T {
    if (ns === '') return fn();
    const fd = this.fdOf(ns);
    if (this.sys.setns(fd, CLONE_NEWNET) < 0) throw new NetlinkError(this.sys.errno(), `cannot enter netns ${ns}`);
    try {
      return fn();
    } finally {
      this.goHome();
    }
  }

  private goHome(): void {
    if (this.sys.setns(this.home, CLONE_NEWNET) < 0) {
      // Continuing would run the rest of the program in a lab namespace: stop hard.
      const e = this.sys.errno();
      process.stderr.write(`geneve-lab: FATAL: cannot return to the original network namespace (errno ${e})\n`);
      process.exit(70);
    }
  }

  /**
   * Whether what we hold of `ns` (socket, fd) is still the namespace now at /run/netns/NAME;
   * if the name was deleted (and maybe re-created) behind our back, drop the stale handles and
   * return true. Checked before ownership decisions (a stale socket would read the OLD
   * namespace's tag).
   */
  revalidate(ns: string): boolean {
    if (ns === '' || (!this.sockets.has(ns) && !this.fds.has(ns))) return false;
    let now: number | undefined;
    try {
      now = statSync(this.path(ns)).ino;
    } catch {
      now = undefined;
    }
    if (this.inodes.get(ns) === now) return false;
    this.forget(ns);
    return true;
  }

  /** Whether a socket into `ns` is kept (see socket). */
  holds(ns: string): boolean {
    return this.sockets.has(ns);
  }

  /** The cached socket for `ns`, created inside it on first use. */
  socket(ns: string): NlSocket {
    let s = this.sockets.get(ns);
    if (s) return s;
    if (ns === '') {
      s = new NlSocket(this.sys);
    } else {
      // Enter through a temporary fd unless one is cached: a socket per namespace is enough to hold.
      const cached = this.fds.get(ns);
      const fd = cached ?? this.openFd(ns);
      try {
        const ino = fstatSync(fd).ino;
        if (this.sys.setns(fd, CLONE_NEWNET) < 0) throw new NetlinkError(this.sys.errno(), `cannot enter netns ${ns}`);
        try {
          s = new NlSocket(this.sys);
        } finally {
          this.goHome();
        }
        this.inodes.set(ns, ino);
      } finally {
        if (cached === undefined) closeSync(fd);
      }
    }
    this.sockets.set(ns, s);
    return s;
  }

  /**
   * Like `ip netns add`: a fresh namespace bind-mounted at /run/netns/NAME. While the thread
   * is inside the new namespace anyway, its netlink socket is made and kept (the next request
   * in it needs one; entering it again would cost a path lookup and two setns). Its fd is not
   * kept: a lab of N namespaces would hold 2N descriptors.
   */
  add(ns: string, init?: (sock: NlSocket) => void): void {
    const path = this.path(ns);
    this.forget(ns);
    if (!this.runDirShared) mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
    this.makeRunDirShared();
    const fd = openSync(path, 'wx', 0o444); // EEXIST when the name is taken
    closeSync(fd);
    try {
      if (this.sys.unshare(CLONE_NEWNET) < 0) throw new NetlinkError(this.sys.errno(), 'unshare(CLONE_NEWNET) failed');
      try {
        // `init` (bringing lo up with the lab's tag) runs BEFORE the namespace gets its name:
        // whatever happens later (kill -9 included), a namespace under the name carries the tag.
        const sock = new NlSocket(this.sys);
        try {
          init?.(sock);
        } catch (e) {
          sock.close();
          throw e;
        }
        if (this.sys.mount('/proc/thread-self/ns/net', path, 'none', MS_BIND, null) < 0) {
          const errno = this.sys.errno();
          sock.close();
          throw new NetlinkError(errno, `bind mount on ${path} failed`);
        }
        this.sockets.set(ns, sock);
        this.inodes.set(ns, statSync(path).ino);
      } finally {
        this.goHome();
      }
    } catch (e) {
      this.forget(ns);
      // Undo a half-made namespace: the mount (if it was made) and the file.
      this.sys.umount2(path, MNT_DETACH);
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
      throw e;
    }
  }

  /**
   * Mounts under /run/netns must propagate to other mount namespaces (iproute2 does the same:
   * make the directory a shared mount, bind-mounting it onto itself the first time).
   */
  private makeRunDirShared(): void {
    // Once per backend: it stays shared, and the mount call was ~10% of creating a namespace.
    if (this.runDirShared) return;
    if (this.sys.mount('none', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC, null) === 0) {
      this.runDirShared = true;
      return;
    }
    if (this.sys.errno() !== EINVAL) throw new NetlinkError(this.sys.errno(), `cannot make ${NETNS_RUN_DIR} a shared mount`);
    if (this.sys.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC, null) < 0)
      throw new NetlinkError(this.sys.errno(), `cannot bind-mount ${NETNS_RUN_DIR} onto itself`);
    if (this.sys.mount('none', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC, null) < 0)
      throw new NetlinkError(this.sys.errno(), `cannot make ${NETNS_RUN_DIR} a shared mount`);
    this.runDirShared = true;
  }

  /** Like `ip netns del`: drop our socket, detach the mount and remove the file. */
  del(ns: string): void {
    const path = this.path(ns);
    this.forget(ns);
    if (this.sys.umount2(path, MNT_DETACH) < 0) throw new NetlinkError(this.sys.errno(), `cannot unmount ${path}`);
    unlinkSync(path);
  }

  /** Drop what we hold of `ns` (its socket and fd), so the kernel can free it once deleted. */
  forget(ns: string): void {
    this.sockets.get(ns)?.close();
    this.sockets.delete(ns);
    const fd = this.fds.get(ns);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(ns);
    this.inodes.delete(ns);
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.inodes.clear();
  }

  dispose(): void {
    this.close();
    closeSync(this.home);
  }
}
