/**
 * The in-process netlink backend: executes plan Ops as rtnetlink requests on one socket per
 * namespace, without spawning a process per object. Only `offload.set` (ethtool ioctls,
 * not netlink) spawns `ethtool`, and `tc.tunnel` and `qdisc.netem` spawn `tc` (see there why).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { nftArgv } from '../../plan/nft.js';
import { isDeepStrictEqual } from 'node:util';
import type { Backend, ExecuteHooks, LinkDump } from '../backend.js';
import { StepFailed } from '../backend.js';
import { type Op, type Step, type LinkSpec, opNamespace, linkChangeArgs } from '../../plan/ops.js';
import { OpError } from '../../errors.js';
import { type Executor, type RunResult, LocalExecutor, inNetns, shellQuote } from '../../exec/executor.js';
import { type Native, loadNative } from './native.js';
import { isNetemUnsupported, netemArgv, NETEM_UNSUPPORTED } from '../../checks/impair.js';
import { Namespaces } from './namespaces.js';
import { NetlinkError } from './socket.js';
import { linkAddMessage, linkSetMessage, linkDelMessage, linkGetMessage, addrMessage, routeMessage, withFlags, dumpMessage, type LinkChange } from './encode.js';
import { type DecodedLink, type NlMessage, decodeLink, geneveKernelView } from './decode.js';
import { NLM_F_ECHO, RTM_GETLINK, RTM_NEWLINK } from './constants.js';
import { describeTcFailure, tunnelTcArgs } from '../../tc/tunnel-key.js';
import { ethtoolKArgv, ethtoolKRefusal, nftRulesArgv } from '../tools.js';

export interface NetlinkBackendOptions {
  /** Runs `ethtool` for offload.set (default: local processes). */
  exec?: Executor;
  /** Receives notices such as attributes the kernel silently ignored. */
  onNotice?: (message: string) => void;
  /** How to load the native part (tests inject failures; default: koffi + libc). */
  loadNative?: () => Native;
}

const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
  EOPNOTSUPP: 'Operation not supported',
  EBUSY: 'Device or resource busy',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  EACCES: 'Permission denied',
  ESRCH: 'No such process',
  ENETDOWN: 'Network is down',
};

export class NetlinkBackend implements Backend {
  readonly name = 'netlink';
  /** Every notice emitted so far (also passed to onNotice). */
  readonly notices: string[] = [];
  private readonly ns: Namespaces;
  private readonly exec: Executor;
  /**
   * ifindex by namespace and link name, for links this backend created or looked up: an
   * address or a bridge port then needs no GETLINK of its own. Indexes of a live link never
   * change; entries go when their namespace or any link is deleted through this backend.
   */
  private readonly indexes = new Map<string, Map<string, number>>();

  constructor(
    sys: Native,
    private readonly opts: NetlinkBackendOptions = {},
  ) {
    this.ns = new Namespaces(sys);
    this.exec = opts.exec ?? new LocalExecutor();
  }

  async execute(steps: readonly Step[], hooks: ExecuteHooks): Promise<void> {
    // Announce intent one run of same-namespace steps at a time (as the iproute2 backend
    // does per batch): the journal stays at most one run ahead of the kernel.
    for (const run of runsByNamespace(steps)) {
      await hooks.intent(run);
      await this.executeRun(run, hooks);
    }
  }

  private async executeRun(steps: readonly Step[], hooks: ExecuteHooks): Promise<void> {
    for (const step of steps) {
      const started = performance.now();
      try {
        await this.run(step);
      } catch (e) {
        throw new StepFailed(step, e);
      }
      await hooks.done(step, performance.now() - started);
    }
  }

  async run(step: Step): Promise<void> {
    try {
      await this.apply(step.op, step);
    } catch (e) {
      throw this.toOpError(step, e);
    }
  }

  async close(): Promise<void> {
    this.ns.close();
  }

  /** The alias of the namespace's `lo` (geneve-lab's ownership tag), without a process. */
  async netnsTag(ns: string): Promise<string | undefined> {
    // An ownership decision: never answer from a socket into a namespace that is no longer
    // the one under this name.
    if (this.ns.revalidate(ns)) this.indexes.delete(ns);
    // A socket opened only for this read is closed again: gc reads the tag of every namespace
    // on the machine, and a socket we keep would keep a foreign namespace alive after its
    // owner deletes it.
    const opened = !this.ns.holds(ns);
    try {
      return this.getLink(ns, 'lo')?.alias;
    } catch {
      return undefined; // no such namespace
    } finally {
      if (opened) this.ns.forget(ns);
    }
  }

  /** Every link of the namespace in one RTM_GETLINK dump (see Backend.linkDump). */
  async linkDump(ns: string): Promise<LinkDump | undefined> {
    // As netnsTag: never from a socket into an earlier namespace of that name, and a socket
    // opened only for this read is closed again.
    if (this.ns.revalidate(ns)) this.indexes.delete(ns);
    const opened = !this.ns.holds(ns);
    try {
      const sock = this.ns.socket(ns);
      const links = sock.request(dumpMessage(RTM_GETLINK, sock.nextSeq())).map((m) => decodeLink(m.payload));
      const tag = links.find((l) => l.name === 'lo')?.alias;
      return { names: links.map((l) => l.name), ...(tag !== undefined ? { tag } : {}) };
    } catch {
      return undefined; // no such namespace
    } finally {
      if (opened) this.ns.forget(ns);
    }
  }

  /** Read one link back (undefined when it does not exist). Used for checks and tests. */
  getLink(ns: string, name: string): DecodedLink | undefined {
    const sock = this.ns.socket(ns);
    try {
      const [reply] = sock.request(linkGetMessage(name, sock.nextSeq()));
      const link = reply ? decodeLink(reply.payload) : undefined;
      if (link) this.remember(ns, link.name, link.index);
      return link;
    } catch (e) {
      if (e instanceof NetlinkError && e.errnoName === 'ENODEV') return undefined;
      throw e;
    }
  }

  private notice(message: string): void {
    this.notices.push(message);
    this.opts.onNotice?.(message);
  }

  private ack(ns: string, build: (seq: number) => Buffer): NlMessage[] {
    const sock = this.ns.socket(ns);
    return sock.request(build(sock.nextSeq()));
  }

  private remember(ns: string, name: string, index: number): void {
    let m = this.indexes.get(ns);
    if (!m) this.indexes.set(ns, (m = new Map()));
    m.set(name, index);
  }

  private ifindex(ns: string, dev: string): number {
    const known = this.indexes.get(ns)?.get(dev);
    if (known !== undefined) return known;
    const link = this.getLink(ns, dev);
    if (!link) throw new NetlinkError(19, `no link "${dev}"`);
    return link.index;
  }

  private async apply(op: Op, step: Step): Promise<void> {
    switch (op.op) {
      case 'netns.add':
        this.indexes.delete(op.ns);
        this.ns.add(op.ns, (sock) => sock.request(linkSetMessage('lo', { up: true, alias: op.tag }, sock.nextSeq())));
        return;
      case 'netns.del':
        this.indexes.delete(op.ns);
        this.ns.del(op.ns);
        return;
      case 'link.add':
        this.addLink(op.ns, op.link, step);
        return;
      case 'link.del':
        // A veth takes its peer (in another namespace) along: forget every index.
        this.indexes.clear();
        this.ack(op.ns, (seq) => linkDelMessage(op.name, seq));
        return;
      case 'link.set': {
        const change: LinkChange = {};
        if (op.up !== undefined) change.up = op.up;
        if (op.mtu !== undefined) change.mtu = op.mtu;
        if (op.alias !== undefined) change.alias = op.alias;
        if (op.gsoMaxSize !== undefined) change.gsoMaxSize = op.gsoMaxSize;
        if (op.groMaxSize !== undefined) change.groMaxSize = op.groMaxSize;
        if (op.master !== undefined) change.masterIndex = op.master === null ? 0 : this.ifindex(op.ns, op.master);
        this.ack(op.ns, (seq) => linkSetMessage(op.name, change, seq));
        return;
      }
      case 'link.change':
        // Once per scenario step, never on a hot path: iproute2 already encodes every geneve/vxlan
        // attribute, and its argv is what the step's error shows.
        await this.runTool(step, op.ns, ['ip', ...linkChangeArgs(op)]);
        return;
      case 'addr.add':
      case 'addr.del': {
        const index = this.ifindex(op.ns, op.dev);
        const nodad = op.op === 'addr.add' && op.nodad === true;
        this.ack(op.ns, (seq) => addrMessage(op.op === 'addr.add', index, op.address, nodad, seq));
        return;
      }
      case 'route.add':
      case 'route.del': {
        const oif = op.dev === undefined ? undefined : this.ifindex(op.ns, op.dev);
        const spec = { to: op.to, ...(op.via !== undefined ? { via: op.via } : {}), ...(oif !== undefined ? { oif } : {}) };
        this.ack(op.ns, (seq) => routeMessage(op.op === 'route.add', spec, seq));
        return;
      }
      case 'sysctl.set': {
        // /proc/sys/net resolves to the namespace of the thread that opens the file
        const path = sysctlPath(op.key);
        this.ns.within(op.ns, () => {
          try {
            writeFileSync(path, op.value + '\n');
          } catch (e) {
            // ifPresent: only a subsystem this kernel lacks (net/ipv6 with ipv6.disable=1) is
            // skipped; a missing device under a present subsystem is still an error.
            if (!(op.ifPresent && (e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(sysctlSubsystem(path)))) throw e;
          }
        });
        return;
      }
      case 'qdisc.netem': {
        // tc through the executor, not RTM_NEWQDISC: netem's TCA_OPTIONS is a packed
        // struct tc_netem_qopt plus nested rate/jitter attributes whose layout tc already
        // knows, and an impairment is one step per lab, so a process costs nothing here.
        await this.runTool(step, op.ns, netemArgv(op.dev, op.impairment), (r) => (isNetemUnsupported(r.stderr) ? NETEM_UNSUPPORTED : undefined));
        return;
      }
      case 'offload.set':
        // ethtool's exit code is not the whole answer: a feature the device kept is printed, not failed.
        await this.runTool(step, op.ns, ethtoolKArgv(op.dev, op.features), (r) => ethtoolKRefusal(r.stdout, r.stderr, r.exitCode, op.features), true);
        return;
      case 'nft.rules':
        // nftables has its own netlink family (NFNL) and bytecode; nft is what users read and copy.
        for (const argv of nftRulesArgv(op)) await this.runTool(step, op.ns, argv);
        return;
      case 'tc.tunnel':
        // tc runs as processes here too: encoding flower keys, tunnel_key and gact actions
        // (nested TCA_OPTIONS/TCA_ACT_* with Geneve option nests) would be a second tc
        // implementation for four messages per external end, with nothing to gain — no hot
        // path, and iproute2's tc is what users read and copy (plan --format sh).
        for (const args of tunnelTcArgs(op.dev, op.egress, op.ingress))
          await this.runTool(step, op.ns, ['tc', ...args], (r) => describeTcFailure(r.stderr, r.exitCode));
        return;
      case 'nft.counters':
      case 'nft.delete':
        // nft's own netlink dialect (nf_tables batches) is not worth a second implementation for a
        // few rules per lab; the nft argv is also what `plan --format sh` shows.
        for (const argv of nftArgv(op)) await this.runTool(step, op.ns, argv);
        return;
    }
  }

  /**
   * The few operations this backend leaves to a tool (tc, ethtool): run the argv in the step's
   * namespace and turn a failure into the same OpError as a netlink failure; `explain` may give
   * the kernel-side reason in words.
   */
  private async runTool(step: Step, ns: string, tool: string[], explain?: (r: RunResult) => string | undefined, explainSuccess = false): Promise<void> {
    const argv = inNetns(ns || undefined, tool);
    const r = await this.exec.run(argv, { timeoutMs: 10_000 });
    // explainSuccess: an exit code 0 may still carry a refusal (ethtool -K), which explain() finds.
    if (r.exitCode === 0 && !(explainSuccess && explain?.(r))) return;
    const kernelMessage = explain?.(r);
    throw new OpError({
      subject: step.subject,
      ...(step.host ? { host: step.host } : {}),
      ...(ns ? { ns } : {}),
      request: shellQuote(argv),
      ...(kernelMessage ? { kernelMessage } : {}),
      stderr: r.stderr,
      exitCode: r.exitCode,
    });
  }

  private addLink(ns: string, spec: LinkSpec, step: Step): void {
    const peerNs = spec.kind === 'veth' && spec.peer.ns !== ns ? spec.peer.ns : undefined;
    const peerFd = peerNs === undefined ? undefined : this.ns.fdOf(peerNs);
    // NLM_F_ECHO: a kernel that honours it for RTM_NEWLINK (Linux 6.3+) sends the new link
    // back before the ACK, which is the read-back below without a GETLINK of its own.
    const replies = this.ack(ns, (seq) => withFlags(linkAddMessage(spec, seq, peerFd === undefined ? {} : { peerNsFd: peerFd }), NLM_F_ECHO));
    const echoed = replies.map((m) => (m.type === RTM_NEWLINK ? decodeLink(m.payload) : undefined)).find((l) => l?.name === spec.name);
    // The kernel does not take IFLA_IFALIAS on create; set it as a change right after.
    if (spec.alias !== undefined) this.ack(ns, (seq) => linkSetMessage(spec.name, { alias: spec.alias! }, seq));
    if (spec.kind === 'veth' && spec.peer.alias !== undefined)
      this.ack(spec.peer.ns, (seq) => linkSetMessage(spec.peer.name, { alias: spec.peer.alias! }, seq));
    const got = echoed ?? this.getLink(ns, spec.name);
    if (got) {
      this.remember(ns, spec.name, got.index);
      // A veth's IFLA_LINK is its peer's ifindex in the peer's namespace.
      if (spec.kind === 'veth' && got.link) this.remember(spec.peer.ns, spec.peer.name, got.link);
    }
    for (const n of readBackDifferences(spec, got)) this.notice(`${step.subject}${step.host ? ` on host "${step.host}"` : ''}: ${n}`);
  }

  private toOpError(step: Step, e: unknown): OpError {
    if (e instanceof OpError) return e;
    const op = step.op;
    const ns = 'ns' in op && op.ns ? op.ns : undefined;
    const base = {
      subject: step.subject,
      ...(step.host ? { host: step.host } : {}),
      ...(ns ? { ns } : {}),
      request: describeRequest(op),
    };
    if (e instanceof NetlinkError) {
      return new OpError({ ...base, errno: e.errnoName, kernelMessage: explain(op, e) });
    }
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
      const what =
        op.op === 'netns.add' && err.code === 'EEXIST'
          ? `namespace "${op.ns}" already exists`
          : op.op === 'sysctl.set' && err.code === 'ENOENT'
            ? `sysctl "${op.key}" does not exist in this kernel (no ${sysctlPath(op.key)})`
            : (err.message ?? String(e));
      return new OpError({ ...base, errno: err.code, kernelMessage: what });
    }
    return new OpError({ ...base, kernelMessage: e instanceof Error ? e.message : String(e) });
  }
}

function runsByNamespace(steps: readonly Step[]): Step[][] {
  const runs: Step[][] = [];
  for (const step of steps) {
    const last = runs.at(-1);
    if (last && opNamespace(last[0]!.op) === opNamespace(step.op)) last.push(step);
    else runs.push([step]);
  }
  return runs;
}

/** The kernel's text, or strerror when it sent none, plus a hint where we know better. */
function explain(op: Op, e: NetlinkError): string {
  const text = e.extack ?? STRERROR[e.errnoName] ?? `error ${e.errno}`;
  if (op.op === 'link.add' && e.errnoName === 'EOPNOTSUPP' && /Unknown device type/.test(text))
    return `${text}: this kernel has no "${op.link.kind}" link type (module not built or not loaded; try \`modprobe ${op.link.kind}\`, or run this lab in the VM tier)`;
  if (op.op === 'link.add' && e.errnoName === 'EEXIST') return `${text}: a link named "${op.link.name}" already exists`;
  if (e.errnoName === 'ENODEV' && 'name' in op && !e.extack) return `${text}: no link "${op.name}"`;
  if (op.op === 'route.add' && e.errnoName === 'EEXIST') return `${text}: a route to ${op.to} already exists`;
  if (op.op === 'route.del' && e.errnoName === 'ESRCH') return `${text}: no route to ${op.to} to delete`;
  return text;
}

function describeRequest(op: Op): string {
  const { op: name, ...rest } = op;
  return `netlink ${name} ${JSON.stringify(rest)}`;
}

/** /proc/sys/net/ipv6/conf/x/disable_ipv6 → /proc/sys/net/ipv6: the part a kernel may lack as a whole. */
export function sysctlSubsystem(path: string): string {
  return path.split('/').slice(0, 5).join('/');
}

/** "net.ipv4.ip_forward" → /proc/sys/net/ipv4/ip_forward; a key given with "/" is taken as a path. */
export function sysctlPath(key: string): string {
  if (key.includes('..')) throw new Error(`invalid sysctl key "${key}"`);
  return '/proc/sys/' + (key.includes('/') ? key.replace(/^\/+/, '') : key.replace(/\./g, '/'));
}

/**
 * Compare a freshly created link with what was asked for. Kernels silently ignore
 * attributes they do not know (geneve-surface.md §1.1 "Forward compatibility") and clamp
 * some values (MTU), so the only way to notice is to read the link back.
 */
export function readBackDifferences(spec: LinkSpec, got: DecodedLink | undefined): string[] {
  if (!got) return [`link "${spec.name}" was created but cannot be read back`];
  const out: string[] = [];
  if (spec.mtu !== undefined && got.mtu !== spec.mtu) out.push(`MTU is ${got.mtu}, asked for ${spec.mtu} (the kernel clamped it)`);
  if (spec.mac !== undefined && got.mac !== spec.mac.toLowerCase()) out.push(`MAC is ${got.mac}, asked for ${spec.mac}`);
  if (spec.kind === 'geneve') {
    const want = geneveKernelView(spec.geneve) as Record<string, unknown>;
    const have = (got.geneve ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(spec.geneve)) {
      if (value === undefined || !(key in want)) continue; // not applicable to this device mode
      if (!(key in have)) out.push(`kernel did not report geneve ${key}: this kernel probably ignores it`);
      else if (!isDeepStrictEqual(have[key], want[key]))
        out.push(`kernel has geneve ${key}=${JSON.stringify(have[key])}, asked for ${JSON.stringify(want[key])}`);
    }
  }
  if (spec.kind === 'vxlan') {
    const have = (got.vxlan ?? {}) as Record<string, unknown>;
    for (const key of ['vni', 'dstport', 'remote', 'local', 'learning', 'srcport', 'flowlabel', 'df'] as const) {
      const value = spec.vxlan[key];
      if (value === undefined) continue;
      if (!(key in have)) out.push(`kernel did not report vxlan ${key}: this kernel probably ignores it`);
      else if (!isDeepStrictEqual(have[key], value)) out.push(`kernel has vxlan ${key}=${JSON.stringify(have[key])}, asked for ${JSON.stringify(value)}`);
    }
  }
  return out;
}

/**
 * Create the netlink backend. Throws an Error saying why when the native part (koffi FFI)
 * cannot load or no netlink socket can be opened; the caller then falls back to iproute2.
 */
export async function createNetlinkBackend(opts: NetlinkBackendOptions = {}): Promise<NetlinkBackend> {
  let sys: Native;
  try {
    sys = (opts.loadNative ?? loadNative)();
  } catch (e) {
    throw new Error(`netlink backend unavailable: ${(e as Error).message}`);
  }
  const backend = new NetlinkBackend(sys, opts);
  try {
    backend.getLink('', 'lo'); // proves a socket opens and the kernel answers
  } catch (e) {
    await backend.close();
    throw new Error(`netlink backend unavailable: ${(e as Error).message}`);
  }
  return backend;
}

