/**
 * The lab lifecycle: up (apply with journal and rollback, converging when already up),
 * down, gc and status. The engine decides; backends execute; events tell the world.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import { StepFailed } from '../backends/backend.js';
import type { Executor } from '../exec/executor.js';
import { ApplyError, InterruptedError, LabError, ExitCode, NeedsRootError, OpError, describeRollback, type OpFailure, type RollbackReport } from '../errors.js';
import type { Lab } from '../model/types.js';
import { planLab } from '../plan/plan.js';
import { autoDatapathFor } from '../plan/ovs.js';
import { OwnedOvs } from '../ovs/daemons.js';
import { ovsPaths } from '../ovs/paths.js';
import type { OvsStatus } from '../ovs/status.js';
import { join } from 'node:path';
import type { Plan, Step } from '../plan/ops.js';
import { EventBus } from './events.js';
import { jsonWithSecretDigests } from '../ipsec/secret.js';
import { links, listNetns, netnsTag } from './inspect.js';
import { namespaceNames, removeNamespaces, taggedNamespaces } from './namespaces.js';
import { StateStore, ownerAlive, type CheckVerb, type LabState, type Journal } from './state.js';
import { lockHolder, lockLab, type LabLock } from './lock.js';
import { namespaceIdentity, staleLocalEntries } from './identity.js';
import { crashTestPause, crashTestPauseBeforeUndo, Interrupted, signalOf, throwIfInterrupted } from './signals.js';
import { collectHelpers, HelperRegistry } from './helpers-registry.js';
import { rmSync, unlinkSync } from 'node:fs';
import { selfId } from './procs.js';

/** This process as the owner of a state (pid + start time). */
const selfOwner = () => {
  const me = selfId();
  return { pid: me.pid, ...(me.start !== undefined ? { pidStart: me.start } : {}) };
};
import { RemoteHosts, sshSpecsOf, type SshDefaults } from '../remote/hosts.js';
import { ConnectionFiles, sweepConnections, type ConnectionSweep } from '../remote/connections.js';
import { removeRemoteLeftovers } from '../exec/ssh.js';
import { routeByHost } from '../backends/router.js';
import { sshOvsStatus, sweepSshOvs } from '../remote/ovs-service.js';
import { applyRuntime, markMutated, type RuntimeDraft, type RuntimeOptions } from './runtime.js';
import { tunnelOffloads } from './offload-status.js';

export interface EngineDeps {
  exec: Executor;
  backend: Backend;
  bus?: EventBus;
  store?: StateStore;
  /** Client-side SSH settings for every `ssh:` host (client netns, ssh_config, timeouts). */
  ssh?: SshDefaults;
}

export interface UpOutcome {
  lab: string;
  changed: boolean;
  applied: number;
  reason: string;
  durationMs: number;
  /** What `up` had to say (e.g. how long IPsec negotiation took), also for --json. */
  notices?: { level: 'info' | 'warning'; message: string }[];
}

export interface LabSummary {
  lab: string;
  phase: string;
  source?: string;
  backend?: string;
  crashed: boolean;
  /** offloads: the link's tunnel-offload features (tx-udp_tnl-*) as `ethtool -k` prints them (lib/engine/offload-status.ts). */
  namespaces: { name: string; present: boolean; links: { ifname: string; kind?: string; state?: string; offloads?: Record<string, string> }[] }[];
  /** Per simulated host with OVS: bridges/ports/interfaces (options, errors) and tunnel listeners, or why they could not be read. */
  ovs?: { host: string; ns: string; status?: OvsStatus; error?: string }[];
}

export const labTag = (lab: string) => `geneve-lab:${lab}`;

export function planHash(plan: Plan): string {
  // Secrets (a PSK) print as <redacted>: hash them through a digest, so changing one changes the plan.
  return createHash('sha256').update(jsonWithSecretDigests(plan, plan.tag)).digest('hex').slice(0, 16);
}

/**
 * Wait for every promise (none is left running behind the caller's back), then throw the first
 * rejection if there was one — Promise.all would return at the first and leave the rest going.
 */
async function settleAll(work: Promise<void>[]): Promise<void> {
  const rejected = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Errors that mean "already gone" when undoing: a missing object is the goal of an undo. */
function alreadyGone(e: unknown): boolean {
  if (!(e instanceof OpError)) return false;
  const f = e.failure;
  return (
    f.errno === 'ENODEV' || f.errno === 'ENOENT' || f.errno === 'ESRCH' || f.errno === 'EADDRNOTAVAIL' ||
    /Cannot find device|No such|does not exist/.test(f.stderr ?? '')
  );
}

/** Namespaces the drift check reads at once (processes, when the backend cannot read in-process). */
const DRIFT_PARALLEL = 8;

interface NamespaceView {
  names: Set<string>;
  tag?: string;
}

/** Run `fn` on every item, at most `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

export class Engine {
  readonly exec: Executor;
  readonly backend: Backend;
  /** The backend of this machine (namespaces of simulated hosts are removed through it). */
  private readonly localBackend: Backend;
  readonly bus: EventBus;
  readonly store: StateStore;
  /** Connections to the SSH hosts of the lab being worked on (none for simulated labs). */
  readonly remotes: RemoteHosts;
  /** Every SSH connection this state directory's processes hold open (see lib/remote/connections.ts). */
  private readonly connections: ConnectionFiles;

  constructor(deps: EngineDeps) {
    this.exec = deps.exec;
    // Notices of an SSH host's runners (e.g. "IPsec SAs established in 3.1 s") go on the bus like
    // this machine's (the bus is read when one is emitted, so it may be set below).
    this.store = deps.store ?? new StateStore();
    this.connections = new ConnectionFiles(this.store.connectionsPath);
    this.remotes = new RemoteHosts(deps.ssh, (message, level = 'info') => this.bus.emit({ type: 'notice', level, message }), this.connections);
    // Steps of SSH hosts go to the iproute2 backend over that host's connection; closing the
    // backend (as every command does at its end) also ends the SSH connections.
    this.localBackend = deps.backend;
    this.backend = routeByHost(deps.backend, (h) => this.remotes.backend(h), () => this.remotes.close());
    this.bus = deps.bus ?? new EventBus();
  }

  /** Where a host's commands run: its SSH connection, or this machine. */
  execFor(host?: string): Executor {
    return this.remotes.exec(host) ?? this.exec;
  }

  /**
   * Connect to every SSH host of the lab (all before anything changes; an unreachable host fails
   * here, exit 3) and return the lab with the hosts' real underlay interface names. A lab without
   * SSH hosts is returned as is. Either way the lab carries this state directory's tag: an SSH
   * host's preflight tells this lab's leftovers from objects of the same lab name kept elsewhere.
   */
  async connect(recipeLab: Lab): Promise<Lab> {
    const lab: Lab = { ...recipeLab, tag: this.tagFor(recipeLab.name) };
    if (!lab.hosts.some((h) => h.placement.kind === 'ssh')) return lab;
    return this.remotes.connectLab(lab);
  }

  /** Reconnect to the SSH hosts a recorded lab used. */
  private async connectState(state: LabState): Promise<void> {
    if (state.remotes?.length) await this.remotes.connect(state.remotes);
  }

  /** The executor for a namespace the lab created (the host whose netns.add made it). */
  private execForNs(state: { steps: Step[] }, ns: string): Executor {
    const s = state.steps.find((x) => x.op.op === 'netns.add' && x.op.ns === ns);
    return this.execFor(s?.host);
  }

  /** This machine and every connected SSH host, for sweeps by tag. */
  private allExecs(): Executor[] {
    return [this.exec, ...this.remotes.execs()];
  }

  /** The ownership tag of a lab kept in this engine's state directory. */
  tagFor(lab: string): string {
    return labTag(lab) + this.store.scope;
  }

  /** Whether a tag belongs to labs of this state directory (see StateStore.scope). */
  private inScope(tag: string): boolean {
    const scope = this.store.scope;
    return scope ? tag.endsWith(scope) : !tag.includes('@');
  }

  /**
   * Hold the lab's lock (lock.ts) for `verb`: one geneve-lab process per lab at a time.
   * Re-entrant within a process (`run` holds it across up, checks and down). Throws LabBusyError.
   */
  lock(lab: string, verb: string): LabLock {
    return lockLab(this.store.labsPath, lab, verb);
  }

  /** Bring the lab to the recipe's state. Idempotent: an identical lab that is up is left alone. */
  async up(recipeLab: Lab, opts: { hooks?: { beforeApply?: () => Promise<void> }; signal?: AbortSignal } = {}): Promise<UpOutcome> {
    const lock = this.lock(recipeLab.name, 'up');
    // The run's notices (e.g. how long IPsec or OVN took to converge) go into the outcome for --json.
    const notices: NonNullable<UpOutcome['notices']> = [];
    const off = this.bus.on((e) => {
      if (e.type === 'notice') notices.push({ level: e.level, message: e.message });
    });
    try {
      const outcome = await this.upLocked(recipeLab, opts);
      return notices.length ? { ...outcome, notices } : outcome;
    } finally {
      off();
      lock.release();
    }
  }

  private async upLocked(recipeLab: Lab, opts: { hooks?: { beforeApply?: () => Promise<void> }; signal?: AbortSignal }): Promise<UpOutcome> {
    const t0 = Date.now();
    const { signal } = opts;
    const lab = await this.connect(recipeLab);
    const plan = await this.plan(lab);
    const hash = planHash(plan);
    this.bus.emit({ type: 'plan', lab: lab.name, plan });
    this.bus.emit({ type: 'phase', phase: 'up', state: 'start', lab: lab.name });

    let existing = this.store.read(lab.name);
    if (existing) {
      await this.connectState(existing);
      // Checks of an earlier up/check that died: their helpers go, the built lab stays.
      // (A `run` that died is recreated below: its contract was to leave nothing.)
      if (existing.phase === 'checking' && existing.checking?.verb !== 'run' && !ownerAlive(existing)) existing = await this.recoverChecks(existing);
      // A lab changed by scenario steps (set, ovs, restart, …) is not what the recipe describes.
      if (existing.phase === 'up' && existing.planHash === hash && !existing.mutated) {
        const drift = await this.drift(existing);
        if (!drift.length) {
          this.bus.emit({ type: 'notice', level: 'info', message: `lab "${lab.name}" is already up and matches the recipe: nothing to change` });
          this.bus.emit({ type: 'phase', phase: 'up', state: 'done', lab: lab.name });
          return { lab: lab.name, changed: false, applied: 0, reason: 'already up', durationMs: Date.now() - t0 };
        }
        this.bus.emit({ type: 'notice', level: 'warning', message: `lab "${lab.name}" drifted (${drift.slice(0, 3).join('; ')}): recreating it` });
      } else {
        const why = existing.phase !== 'up' ? `a previous run stopped while ${existing.phase}` : existing.planHash === hash ? `scenario steps changed it (${existing.mutated})` : 'the recipe changed';
        this.bus.emit({ type: 'notice', level: 'info', message: `lab "${lab.name}" exists but ${why}: recreating it` });
      }
      const report = await this.teardown(existing, 'down');
      if (report.failures.length) throw new LabError(`could not remove the previous lab "${lab.name}" before recreating it`, ExitCode.applyFailed);
      // The earlier run may have reached a host differently (recipe changed): back to this lab's hosts.
      await this.connect(lab);
    }

    await this.preflight(lab, plan);
    await opts.hooks?.beforeApply?.();
    throwIfInterrupted(signal);

    let state: LabState = {
      version: 1,
      lab: lab.name,
      tag: lab.tag,
      ...(lab.source ? { source: lab.source } : {}),
      model: lab,
      planHash: hash,
      backend: this.backend.name,
      steps: plan.steps,
      ...(this.remotes.size ? { remotes: sshSpecsOf(lab, this.remotes.defaults) } : {}),
      phase: 'applying',
      ...selfOwner(),
      updatedAt: '',
    };
    this.store.write(state);
    this.store.startJournal(lab.name);

    try {
      await this.backend.execute(plan.steps, {
        intent: async (steps) => {
          // Between steps, never inside one: an interrupted up issues no further step.
          throwIfInterrupted(signal);
          this.store.journalIntent(lab.name, steps.map((s) => s.id));
          for (const s of steps) this.bus.emit({ type: 'step-start', step: s });
        },
        done: async (step, ms) => {
          // A namespace is journaled with its identity: rollback, down and gc remove it by that
          // identity or its tag, never by its name alone (identity.ts).
          const identity = step.op.op === 'netns.add' ? await namespaceIdentity(this.execFor(step.host), step.op.ns).catch(() => undefined) : undefined;
          this.store.journalDone(lab.name, step.id, identity);
          this.bus.emit({ type: 'step-done', step, durationMs: ms });
          await crashTestPause(step.id, signal);
          throwIfInterrupted(signal);
        },
      });
    } catch (e) {
      if (e instanceof Interrupted || signal?.aborted) {
        // Ctrl-C/SIGTERM (also when the terminal's SIGINT killed the step's own process).
        const sig = e instanceof Interrupted ? e.signal : signalOf(signal);
        this.bus.emit({ type: 'notice', level: 'warning', message: `${sig}: stopping lab "${lab.name}" and rolling back what was made so far` });
        this.bus.emit({ type: 'phase', phase: 'up', state: 'failed', lab: lab.name });
        state = this.store.setPhase(state, 'rolling-back');
        const rollback = await this.teardown(state, 'rollback');
        throw new InterruptedError(sig, `interrupted (${sig}) while building lab "${lab.name}": ${describeRollback(rollback)}`, rollback);
      }
      const failedStep = e instanceof StepFailed ? e.step : undefined;
      const failure: OpFailure =
        e instanceof StepFailed && e.cause instanceof OpError
          ? e.cause.failure
          : { subject: failedStep?.subject ?? `lab "${lab.name}"`, request: failedStep?.op.op ?? 'apply', kernelMessage: (e as Error).message };
      if (failedStep) this.bus.emit({ type: 'step-failed', step: failedStep, failure, durationMs: 0 });
      this.bus.emit({ type: 'phase', phase: 'up', state: 'failed', lab: lab.name });
      state = this.store.setPhase(state, 'rolling-back');
      const rollback = await this.teardown(state, 'rollback');
      throw new ApplyError(failedStep?.id ?? 0, failure, rollback);
    }
    this.store.setPhase(state, 'up');
    this.bus.emit({ type: 'phase', phase: 'up', state: 'done', lab: lab.name });
    return { lab: lab.name, changed: true, applied: plan.steps.length, reason: existing ? 'recreated' : 'created', durationMs: Date.now() - t0 };
  }

  /**
   * Change the running lab from a scenario step: the operations are appended to the lab's recorded
   * steps with their undo and journaled like `up`'s, so down, rollback and gc treat them like the
   * rest (lib/engine/runtime.ts). The lab is marked mutated.
   */
  applyRuntime(lab: string, drafts: RuntimeDraft[], opts: RuntimeOptions = {}): Promise<Step[]> {
    return applyRuntime(this, lab, drafts, opts);
  }

  /** Record that a scenario step changed the lab (a later `up` rebuilds it instead of "already up"). */
  markMutated(lab: string, why: string): void {
    markMutated(this.store, lab, why);
  }

  /** The plan for this machine: OVS `auto` datapaths resolved by probing the kernel. */
  async plan(lab: Lab): Promise<Plan> {
    const { autoDatapath } = await autoDatapathFor(lab, this.exec);
    return planLab(lab, { runRoot: join(this.store.dir, 'run'), autoDatapath });
  }

  /** Nothing of the plan may exist before we start, unless it is ours (then gc/down first). */
  private async preflight(lab: Lab, plan: Plan): Promise<void> {
    if (process.getuid?.() !== 0) throw new NeedsRootError('up');
    const clashes: string[] = [];
    const listed = new Map<Executor, Set<string>>();
    for (const ns of plan.namespaces) {
      const ex = this.execForNs(plan, ns);
      if (!listed.has(ex)) listed.set(ex, await namespaceNames(ex));
      if (!listed.get(ex)!.has(ns)) continue;
      const tag = await netnsTag(ex, ns);
      clashes.push(
        tag === lab.tag
          ? `namespace ${ns} is left over from an earlier run of lab "${lab.name}": run \`geneve-lab down ${lab.name}\` or \`geneve-lab gc\``
          : `namespace ${ns} already exists and does not belong to lab "${lab.name}": rename the lab or remove that namespace yourself`,
      );
    }
    // On SSH hosts the lab's links go into the machine's own namespace: none may exist yet.
    for (const h of lab.hosts) {
      const ex = this.remotes.exec(h.name);
      if (!ex) continue;
      const there = new Map((await links(ex)).map((l) => [l.ifname, l.ifalias]));
      for (const s of plan.steps)
        if (s.host === h.name && s.op.op === 'link.add' && s.op.ns === '' && there.has(s.op.link.name))
          clashes.push(
            there.get(s.op.link.name) === lab.tag
              ? `link ${s.op.link.name} on host "${h.name}" is left over from an earlier run of lab "${lab.name}": run \`geneve-lab down ${lab.name}\``
              : `link ${s.op.link.name} already exists on host "${h.name}" and is not lab "${lab.name}"'s: rename the object or the lab`,
          );
    }
    if (clashes.length) throw new LabError(`cannot bring lab "${lab.name}" up:\n  ` + clashes.join('\n  '), ExitCode.applyFailed);
  }

  /**
   * What of a recorded lab is missing from the system. One look per namespace — its links and
   * lo's alias (the tag) — not one per object: in-process through the backend where it can
   * (netlink: a link dump, no process), else one `ip -d -j link show` per namespace, several at
   * once. (One process per object made a re-`up` of 1000 unchanged guests take 30 s.)
   */
  async drift(state: LabState): Promise<string[]> {
    await this.connectState(state);
    const listed = new Map<Executor, Promise<Set<string>>>();
    const present = async (ex: Executor, ns: string) => {
      if (ns === '') return true; // an SSH host's own namespace
      if (!listed.has(ex)) listed.set(ex, listNetns(ex).then((l) => new Set(l)));
      return (await listed.get(ex)!).has(ns);
    };
    // The namespaces the lab's objects live in, each looked at once (and only when present).
    const wanted = new Map<string, { ex: Executor; ns: string }>();
    for (const s of state.steps)
      if (s.op.op === 'netns.add' || s.op.op === 'link.add') wanted.set(`${s.host ?? ''}/${s.op.ns}`, { ex: this.execFor(s.host), ns: s.op.ns });
    const views = new Map<string, NamespaceView | undefined>();
    await inBatches([...wanted], DRIFT_PARALLEL, async ([key, { ex, ns }]) => {
      views.set(key, (await present(ex, ns)) ? await this.namespaceView(ex, ns) : undefined);
    });
    const problems: string[] = [];
    for (const s of state.steps) {
      if (s.op.op !== 'netns.add' && s.op.op !== 'link.add') continue;
      const view = views.get(`${s.host ?? ''}/${s.op.ns}`);
      if (s.op.op === 'netns.add') {
        if (!view) problems.push(`namespace ${s.op.ns} is missing`);
        else if (view.tag !== state.tag) problems.push(`namespace ${s.op.ns} lost its tag`);
      } else if (view && !view.names.has(s.op.link.name)) problems.push(`link ${s.op.link.name} in ${s.op.ns || `host "${s.host}"`} is missing`);
    }
    return problems;
  }

  /** The link names and tag of a present namespace ('' = the machine's own), in one look. */
  private async namespaceView(ex: Executor, ns: string): Promise<NamespaceView> {
    const dump = ex === this.exec && ns !== '' && this.localBackend.linkDump ? await this.localBackend.linkDump(ns) : undefined;
    if (dump) return { names: new Set(dump.names), ...(dump.tag !== undefined ? { tag: dump.tag } : {}) };
    const all = await links(ex, ns || undefined);
    const tag = all.find((l) => l.ifname === 'lo')?.ifalias;
    return { names: new Set(all.map((l) => l.ifname)), ...(tag !== undefined ? { tag } : {}) };
  }

  /**
   * Undo what a lab created, newest first. Only what the journal says was done (or, for a
   * namespace, intended) is undone, and a namespace or shared link only when it is still the
   * lab's: its tag, or (namespaces) the identity journaled at creation. A namespace whose
   * creation failed (EEXIST: someone else's) is never touched.
   */
  async teardown(state: LabState, mode: 'down' | 'rollback' | 'gc'): Promise<RollbackReport> {
    const journal: Journal = this.store.readJournal(state.lab);
    if (mode === 'down' || mode === 'gc') this.store.setPhase(state, mode === 'down' ? 'tearing-down' : state.phase);
    this.bus.emit({ type: 'phase', phase: mode === 'rollback' ? 'rollback' : mode, state: 'start', lab: state.lab });
    const failures: OpFailure[] = [];
    let undone = 0;
    await crashTestPauseBeforeUndo();
    // Checks' helpers first (a tcpdump on an SSH host's NIC is in no namespace of ours).
    await collectHelpers(this.store, state.lab, (h) => this.remotes.exec(h)).catch(() => undefined);
    // A namespace the lab only intended to make is a candidate too (kill -9 between creating and
    // journaling it), but then only its tag can prove it is the lab's.
    const touched = (s: Step) =>
      journal.done.has(s.id) ||
      (s.op.op === 'netns.add' && journal.intent.has(s.id)) ||
      // IKE daemons half-started by a crashed run: stopping touches only provably-ours pids and a marked directory.
      (s.op.op === 'ipsec.start' && journal.intent.has(s.id));
    const sharedLinks = new Map<Executor, Map<string, string | undefined>>();
    const sharedLinkOwner = async (ex: Executor, ns: string, name: string): Promise<'ours' | 'absent' | 'foreign'> => {
      if (!sharedLinks.has(ex)) sharedLinks.set(ex, new Map((await links(ex, ns || undefined)).map((l) => [l.ifname, l.ifalias])));
      const m = sharedLinks.get(ex)!;
      if (!m.has(name)) return 'absent';
      return m.get(name) === state.tag ? 'ours' : 'foreign';
    };
    // Namespaces go last, all of a machine's in one batch (one listing, one /proc scan, then
    // the deletions): everything else the lab undoes (OVS daemons, links on SSH hosts) comes
    // first, in reverse plan order, while the namespaces it may need still exist.
    const nsUndos = new Map<Executor, Step[]>();
    const otherUndos = new Map<Executor, Step[]>();
    for (const step of [...state.steps].reverse()) {
      if (!touched(step) || !step.undo) continue;
      const ex = this.execFor(step.host);
      const into = step.undo.op === 'netns.del' ? nsUndos : otherUndos;
      const list = into.get(ex) ?? [];
      if (!into.has(ex)) into.set(ex, list);
      list.push(step);
    }
    const undoOne = async (step: Step): Promise<void> => {
      const undo: Step = { ...step, op: step.undo!, undo: null };
      if (undo.op.op === 'link.del') {
        // A link in a namespace the lab does not own (an SSH host's): only when it still carries the tag.
        const owner = await sharedLinkOwner(this.execFor(step.host), undo.op.ns, undo.op.name).catch(() => 'ours' as const);
        if (owner === 'foreign') {
          this.bus.emit({ type: 'notice', level: 'warning', message: `link ${undo.op.name}${step.host ? ` on host "${step.host}"` : ''} is not tagged as lab "${state.lab}"'s: left alone` });
          this.store.journalUndone(state.lab, step.id);
          return;
        }
      }
      this.bus.emit({ type: 'undo-start', step });
      const t0 = Date.now();
      try {
        await this.backend.run(undo);
      } catch (e) {
        if (!alreadyGone(e)) {
          const failure = e instanceof OpError ? e.failure : { subject: step.subject, request: undo.op.op, kernelMessage: (e as Error).message };
          failures.push(failure);
          this.bus.emit({ type: 'undo-failed', step, failure });
          return;
        }
      }
      undone++;
      this.store.journalUndone(state.lab, step.id);
      this.bus.emit({ type: 'undo-done', step, durationMs: Date.now() - t0 });
    };
    // Each machine's undos in reverse plan order; the machines at once (a machine's objects
    // depend only on that machine's: one lab on 20 SSH hosts is 20 independent teardowns).
    await settleAll(
      [...otherUndos.values()].map(async (steps) => {
        for (const step of steps) await undoOne(step);
      }),
    );
    // One batch per machine, the machines at once: each batch is a few round trips to its own
    // machine (listing, tags, processes, deletions), and nothing in one depends on another's.
    const removeOn = async (ex: Executor): Promise<void> => {
      const steps = nsUndos.get(ex) ?? [];
      const nsOf = (s: Step) => (s.undo as { ns: string }).ns;
      const present = await namespaceNames(ex);
      // Anything else carrying this lab's tag (e.g. the state lost track of it) goes too.
      // Only names the lab can have (gl-<lab>-…): a machine may hold hundreds of other namespaces.
      const inSteps = new Set(steps.map(nsOf));
      const strays = [...present].filter((ns) => ns.startsWith(`gl-${state.lab}-`) && !inSteps.has(ns));
      if (!steps.length && !strays.length) return;
      for (const step of steps) this.bus.emit({ type: 'undo-start', step });
      const t0 = Date.now();
      const results = await removeNamespaces(
        ex,
        [
          ...steps.map((s) => {
            const identity = journal.identities.get(s.id);
            return { ns: nsOf(s), subject: s.subject, ...(identity ? { identity } : {}) };
          }),
          ...strays.map((ns) => ({ ns })),
        ],
        state.tag,
        { present, ...(ex === this.exec ? { backend: this.localBackend } : {}) },
      );
      for (const [i, r] of results.entries()) {
        const step = steps[i];
        if (r.failure) {
          failures.push(r.failure);
          if (step) this.bus.emit({ type: 'undo-failed', step, failure: r.failure });
          continue;
        }
        if (!step) {
          if (r.outcome === 'removed') undone++;
          continue;
        }
        if (r.outcome === 'foreign') {
          // Not ours (someone re-created the name, or our creation failed because it existed): never touch it, but say so.
          this.bus.emit({ type: 'notice', level: 'warning', message: `namespace ${r.ns} is not lab "${state.lab}"'s (no tag of the lab, and not the namespace the lab created): left alone` });
          this.store.journalUndone(state.lab, step.id);
          continue;
        }
        if (r.outcome === 'removed') undone++;
        this.store.journalUndone(state.lab, step.id);
        this.bus.emit({ type: 'undo-done', step, durationMs: Date.now() - t0 });
      }
    };
    await settleAll([...new Set([...this.allExecs(), ...nsUndos.keys()])].map(removeOn));
    // Entries of /run/netns here with the lab's namespace names but no namespace mounted (a
    // crash between creating the name and mounting, or made in a mount namespace that ended).
    for (const ns of staleLocalEntries(state.steps.flatMap((s) => (s.op.op === 'netns.add' ? [s.op.ns] : [])))) {
      try {
        unlinkSync(`/run/netns/${ns}`);
        undone++;
      } catch {
        /* gone meanwhile */
      }
    }
    // Likewise the lab's tagged bridges/ports in the SSH hosts' own OVS services.
    const ovsSweep = await sweepSshOvs(state.steps, (h) => this.remotes.exec(h));
    failures.push(...ovsSweep.failures);
    undone += ovsSweep.removed.length;
    if (failures.length === 0) this.store.remove(state.lab);
    this.bus.emit({ type: 'phase', phase: mode === 'rollback' ? 'rollback' : mode, state: failures.length ? 'failed' : 'done', lab: state.lab });
    return { undone, failures };
  }

  /** Remove exactly what the lab owns. Works from the state file, or from tags when it is gone. */
  async down(labName: string): Promise<RollbackReport & { found: boolean }> {
    const lock = this.lock(labName, 'down');
    try {
      const state = this.store.read(labName);
      if (state) {
        await this.connectState(state);
        return { ...(await this.teardown(state, 'down')), found: true };
      }
      const tag = this.tagFor(labName);
      const backend = { backend: this.localBackend };
      const nss = (await taggedNamespaces(this.exec, tag, backend)).map((n) => n.ns);
      const results = await removeNamespaces(this.exec, nss.map((ns) => ({ ns })), tag, backend);
      const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
      return { undone: nss.length - failures.length, failures, found: nss.length > 0 };
    } finally {
      lock.release();
    }
  }

  /**
   * Remove what crashed labs left: labs whose state says they were mid-change and whose
   * process is dead, and namespaces tagged as a lab that has no state at all. A lab whose `up`
   * or `check` died during its checks keeps running (it was built); only its checks' helper
   * processes and files are removed (`checks`). A `run` that died anywhere is torn down. SSH
   * connections of dead processes go too (`connections`: the master, its local and remote
   * directories).
   */
  async gc(): Promise<{ labs: string[]; namespaces: string[]; checks: string[]; connections: ConnectionSweep['collected']; failures: OpFailure[] }> {
    const labs: string[] = [];
    const namespaces: string[] = [];
    const checks: string[] = [];
    const failures: OpFailure[] = [];
    for (const name of this.store.list()) {
      const st = this.store.read(name);
      if (!st || st.phase === 'up' || ownerAlive(st) || lockHolder(this.store.labsPath, name)) continue;
      let lock: LabLock;
      try {
        lock = this.lock(name, 'gc');
      } catch {
        continue; // taken meanwhile: that process owns the lab now
      }
      try {
        // Stale /run/netns entries of the lab here go even when its SSH hosts cannot be reached.
        for (const ns of staleLocalEntries(st.steps.flatMap((s) => (s.op.op === 'netns.add' ? [s.op.ns] : [])))) {
          try {
            unlinkSync(`/run/netns/${ns}`);
            namespaces.push(ns);
          } catch {
            /* gone meanwhile */
          }
        }
        try {
          await this.connectState(st);
        } catch (e) {
          // One lab's unreachable host must not keep gc from collecting the others.
          failures.push({ subject: `lab "${name}"`, request: 'connect', kernelMessage: (e as Error).message });
          continue;
        }
        if (st.phase === 'checking' && st.checking?.verb !== 'run') {
          await this.recoverChecks(st);
          checks.push(name);
          continue;
        }
        const r = await this.teardown(st, 'gc');
        failures.push(...r.failures);
        labs.push(name);
      } finally {
        lock.release();
      }
    }
    const known = new Set(this.store.list().map((n) => this.tagFor(n)));
    const orphans = await taggedNamespaces(this.exec, (tag) => tag.startsWith('geneve-lab:') && this.inScope(tag) && !known.has(tag), { backend: this.localBackend });
    // One batch per orphaned lab tag: a namespace is removed only when it carries that tag.
    for (const tag of new Set(orphans.map((o) => o.tag))) {
      const mine = orphans.filter((o) => o.tag === tag).map((o) => ({ ns: o.ns }));
      for (const r of await removeNamespaces(this.exec, mine, tag, { backend: this.localBackend })) {
        if (r.failure) failures.push(r.failure);
        else if (r.outcome === 'removed') namespaces.push(r.ns);
      }
    }
    const swept = await sweepConnections(this.connections, (rec) => removeRemoteLeftovers(rec, this.connections));
    for (const k of swept.kept)
      failures.push({ subject: `SSH connection to host "${k.host}" left by a process that died (${k.id})`, request: 'remove its remote directory', kernelMessage: k.reason });
    return { labs, namespaces, checks, connections: swept.collected, failures };
  }

  /**
   * The checks of a built lab begin (`verb` says whose: after a crash gc tears down a `run`
   * lab, but leaves an `up` lab up). The registry records every helper process and temporary
   * file of the checks; `signal` stops them. The caller holds the lab's lock.
   */
  beginChecks(labName: string, verb: CheckVerb, signal?: AbortSignal): HelperRegistry {
    const st = this.store.read(labName);
    if (st) this.store.setPhase(st, 'checking', { verb });
    return new HelperRegistry(this.store, labName, signal);
  }

  /** The checks ended (or were interrupted): stop what still runs, remove their files, phase back to `up`. */
  async endChecks(labName: string, registry?: HelperRegistry): Promise<void> {
    await registry?.stopLive();
    const st = this.store.read(labName);
    if (st) await this.recoverChecks(st);
  }

  /** Stop the recorded helpers of a lab's checks and remove their files; the lab is up again. */
  private async recoverChecks(st: LabState): Promise<LabState> {
    await collectHelpers(this.store, st.lab, (h) => this.remotes.exec(h)).catch(() => undefined);
    rmSync(this.store.capturesDir(st.lab), { recursive: true, force: true });
    return this.store.setPhase(st, 'up');
  }

  async status(labName?: string): Promise<LabSummary[]> {
    const names = labName ? [labName] : this.store.list();
    const present = new Set(await listNetns(this.exec));
    const out: LabSummary[] = [];
    for (const name of names) {
      const st = this.store.read(name);
      if (!st) continue;
      const nss = st.steps.filter((s) => s.op.op === 'netns.add').map((s) => (s.op as { ns: string }).ns);
      const namespaces = [];
      const reachable = await this.connectState(st).then(
        () => true,
        (e: Error) => (this.bus.emit({ type: 'notice', level: 'warning', message: `lab "${name}": ${e.message}` }), false),
      );
      for (const ns of nss) {
        const ex = this.execForNs(st, ns);
        const here = ex === this.exec ? present.has(ns) : reachable && (await listNetns(ex)).includes(ns);
        const ls = (here ? await links(ex, ns) : []).filter((l) => l.ifname !== 'lo');
        const offloads = await Promise.all(ls.map((l) => tunnelOffloads(ex, ns, l.ifname)));
        namespaces.push({
          name: ns,
          present: here,
          links: ls.map((l, i) => ({
            ifname: l.ifname,
            ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
            ...(l.operstate ? { state: l.operstate } : {}),
            ...(offloads[i] ? { offloads: offloads[i] } : {}),
          })),
        });
      }
      const ovs = await this.ovsStatus(st);
      out.push({
        lab: name,
        ...(ovs.length ? { ovs } : {}),
        phase: st.phase,
        ...(st.source ? { source: st.source } : {}),
        backend: st.backend,
        crashed: st.phase !== 'up' && !ownerAlive(st),
        namespaces,
      });
    }
    return out;
  }

  /** Ask each OVS instance the lab started (its `ovs.start` steps) for its bridges, ports and tunnel listeners. */
  private async ovsStatus(st: LabState): Promise<NonNullable<LabSummary['ovs']>> {
    const out: NonNullable<LabSummary['ovs']> = [];
    for (const s of st.steps) {
      if (s.op.op !== 'ovs.start') continue;
      const host = s.host ?? s.op.ns;
      const inst = new OwnedOvs(ovsPaths(s.op.runDir), { exec: this.exec, lab: s.op.lab, ns: s.op.ns, label: `OVS on host "${host}"`, timeoutSec: 3 });
      try {
        out.push({ host, ns: s.op.ns, status: await inst.status() });
      } catch (e) {
        out.push({ host, ns: s.op.ns, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
      }
    }
    // SSH hosts: the machines' own OVS services (the lab's bridges there).
    out.push(...(await sshOvsStatus(st.steps, (h) => this.remotes.exec(h))));
    return out;
  }
}
