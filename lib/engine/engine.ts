/**
 * The lab lifecycle: up (apply with journal and rollback, converging when already up),
 * down, gc and status. The engine decides; backends execute; events tell the world.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import { StepFailed } from '../backends/backend.js';
import type { Executor } from '../exec/executor.js';
import { ApplyError, LabError, ExitCode, OpError, type OpFailure, type RollbackReport } from '../errors.js';
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
import { StateStore, pidAlive, type LabState, type Journal } from './state.js';
import { RemoteHosts, sshSpecsOf, type SshDefaults } from '../remote/hosts.js';
import { routeByHost } from '../backends/router.js';
import { sshOvsStatus, sweepSshOvs } from '../remote/ovs-service.js';

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
  namespaces: { name: string; present: boolean; links: { ifname: string; kind?: string; state?: string }[] }[];
  /** Per simulated host with OVS: bridges/ports/interfaces (options, errors) and tunnel listeners, or why they could not be read. */
  ovs?: { host: string; ns: string; status?: OvsStatus; error?: string }[];
}

export const labTag = (lab: string) => `geneve-lab:${lab}`;

export function planHash(plan: Plan): string {
  // Secrets (a PSK) print as <redacted>: hash them through a digest, so changing one changes the plan.
  return createHash('sha256').update(jsonWithSecretDigests(plan, plan.tag)).digest('hex').slice(0, 16);
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

/**
 * Crash testing: with GENEVE_LAB_PAUSE_AFTER_STEP=N the process announces and then hangs
 * after step N, so a test can `kill -9` it at a known point and prove that `gc` cleans up.
 */
async function crashTestPause(stepId: number): Promise<void> {
  const at = Number(process.env.GENEVE_LAB_PAUSE_AFTER_STEP);
  if (!at || stepId !== at) return;
  process.stderr.write(`geneve-lab: paused after step ${stepId} (GENEVE_LAB_PAUSE_AFTER_STEP)\n`);
  await new Promise(() => setInterval(() => {}, 1 << 30));
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

  constructor(deps: EngineDeps) {
    this.exec = deps.exec;
    this.remotes = new RemoteHosts(deps.ssh);
    // Steps of SSH hosts go to the iproute2 backend over that host's connection; closing the
    // backend (as every command does at its end) also ends the SSH connections.
    this.localBackend = deps.backend;
    this.backend = routeByHost(deps.backend, (h) => this.remotes.backend(h), () => this.remotes.close());
    this.bus = deps.bus ?? new EventBus();
    this.store = deps.store ?? new StateStore();
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

  /** Bring the lab to the recipe's state. Idempotent: an identical lab that is up is left alone. */
  async up(recipeLab: Lab, opts: { hooks?: { beforeApply?: () => Promise<void> } } = {}): Promise<UpOutcome> {
    const notices: NonNullable<UpOutcome['notices']> = [];
    const off = this.bus.on((e) => {
      if (e.type === 'notice') notices.push({ level: e.level, message: e.message });
    });
    try {
      const outcome = await this.upUnrecorded(recipeLab, opts);
      return notices.length ? { ...outcome, notices } : outcome;
    } finally {
      off();
    }
  }

  private async upUnrecorded(recipeLab: Lab, opts: { hooks?: { beforeApply?: () => Promise<void> } }): Promise<UpOutcome> {
    const t0 = Date.now();
    const lab = await this.connect(recipeLab);
    const plan = await this.plan(lab);
    const hash = planHash(plan);
    this.bus.emit({ type: 'plan', lab: lab.name, plan });
    this.bus.emit({ type: 'phase', phase: 'up', state: 'start', lab: lab.name });

    const existing = this.store.read(lab.name);
    if (existing) {
      await this.connectState(existing);
      if (existing.phase !== 'up' && pidAlive(existing.pid) && existing.pid !== process.pid)
        throw new LabError(`lab "${lab.name}" is being changed by process ${existing.pid} (${existing.phase}); wait for it or stop it`, ExitCode.applyFailed);
      if (existing.phase === 'up' && existing.planHash === hash) {
        const drift = await this.drift(existing);
        if (!drift.length) {
          this.bus.emit({ type: 'notice', level: 'info', message: `lab "${lab.name}" is already up and matches the recipe: nothing to change` });
          this.bus.emit({ type: 'phase', phase: 'up', state: 'done', lab: lab.name });
          return { lab: lab.name, changed: false, applied: 0, reason: 'already up', durationMs: Date.now() - t0 };
        }
        this.bus.emit({ type: 'notice', level: 'warning', message: `lab "${lab.name}" drifted (${drift.slice(0, 3).join('; ')}): recreating it` });
      } else {
        const why = existing.phase === 'up' ? 'the recipe changed' : `a previous run stopped while ${existing.phase}`;
        this.bus.emit({ type: 'notice', level: 'info', message: `lab "${lab.name}" exists but ${why}: recreating it` });
      }
      const report = await this.teardown(existing, 'down');
      if (report.failures.length) throw new LabError(`could not remove the previous lab "${lab.name}" before recreating it`, ExitCode.applyFailed);
      // The earlier run may have reached a host differently (recipe changed): back to this lab's hosts.
      await this.connect(lab);
    }

    await this.preflight(lab, plan);
    await opts.hooks?.beforeApply?.();

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
      pid: process.pid,
      updatedAt: '',
    };
    this.store.write(state);
    this.store.startJournal(lab.name);

    try {
      await this.backend.execute(plan.steps, {
        intent: async (steps) => {
          this.store.journalIntent(lab.name, steps.map((s) => s.id));
          for (const s of steps) this.bus.emit({ type: 'step-start', step: s });
        },
        done: async (step, ms) => {
          this.store.journalDone(lab.name, step.id);
          this.bus.emit({ type: 'step-done', step, durationMs: ms });
          await crashTestPause(step.id);
        },
      });
    } catch (e) {
      const failedStep = e instanceof StepFailed ? e.step : undefined;
      const failure: OpFailure =
        e instanceof StepFailed && e.cause instanceof OpError
          ? e.cause.failure
          : { subject: failedStep?.subject ?? `lab "${lab.name}"`, request: failedStep?.op.op ?? 'apply', kernelMessage: (e as Error).message };
      if (failedStep) this.bus.emit({ type: 'step-failed', step: failedStep, failure, durationMs: 0 });
      this.bus.emit({ type: 'phase', phase: 'up', state: 'failed', lab: lab.name });
      state = this.store.setPhase(state, 'rolling-back');
      const rollback = await this.teardown(state, 'rollback', failedStep);
      throw new ApplyError(failedStep?.id ?? 0, failure, rollback);
    }
    this.store.setPhase(state, 'up');
    this.bus.emit({ type: 'phase', phase: 'up', state: 'done', lab: lab.name });
    return { lab: lab.name, changed: true, applied: plan.steps.length, reason: existing ? 'recreated' : 'created', durationMs: Date.now() - t0 };
  }

  /** The plan for this machine: OVS `auto` datapaths resolved by probing the kernel. */
  async plan(lab: Lab): Promise<Plan> {
    const { autoDatapath } = await autoDatapathFor(lab, this.exec);
    return planLab(lab, { runRoot: join(this.store.dir, 'run'), autoDatapath });
  }

  /** Nothing of the plan may exist before we start, unless it is ours (then gc/down first). */
  private async preflight(lab: Lab, plan: Plan): Promise<void> {
    if (process.getuid?.() !== 0) throw new LabError('geneve-lab up needs root (CAP_NET_ADMIN) to create namespaces and links: run it with sudo', ExitCode.missingPrerequisite);
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

  /** What of a recorded lab is missing from the system. */
  async drift(state: LabState): Promise<string[]> {
    const problems: string[] = [];
    await this.connectState(state);
    const presentOn = new Map<Executor, Set<string>>();
    const present = async (ex: Executor, ns: string) => {
      if (ns === '') return true; // an SSH host's own namespace
      if (!presentOn.has(ex)) presentOn.set(ex, new Set(await listNetns(ex)));
      return presentOn.get(ex)!.has(ns);
    };
    const byNs = new Map<string, Set<string>>();
    for (const s of state.steps) {
      const ex = this.execFor(s.host);
      if (s.op.op === 'netns.add') {
        if (!(await present(ex, s.op.ns))) problems.push(`namespace ${s.op.ns} is missing`);
        else if ((await netnsTag(ex, s.op.ns)) !== state.tag) problems.push(`namespace ${s.op.ns} lost its tag`);
      }
      if (s.op.op === 'link.add' && (await present(ex, s.op.ns))) {
        const key = `${s.host ?? ''}/${s.op.ns}`;
        if (!byNs.has(key)) byNs.set(key, new Set((await links(ex, s.op.ns || undefined)).map((l) => l.ifname)));
        if (!byNs.get(key)!.has(s.op.link.name)) problems.push(`link ${s.op.link.name} in ${s.op.ns || `host "${s.host}"`} is missing`);
      }
    }
    return problems;
  }

  /**
   * Undo what a lab created, newest first. `rollback` after a failed step also removes a
   * namespace that the failing step was creating (preflight proved it did not exist before).
   */
  async teardown(state: LabState, mode: 'down' | 'rollback' | 'gc', failedStep?: Step): Promise<RollbackReport> {
    const journal: Journal = this.store.readJournal(state.lab);
    if (mode === 'down' || mode === 'gc') this.store.setPhase(state, mode === 'down' ? 'tearing-down' : state.phase);
    this.bus.emit({ type: 'phase', phase: mode === 'rollback' ? 'rollback' : mode, state: 'start', lab: state.lab });
    const failures: OpFailure[] = [];
    let undone = 0;
    const touched = (s: Step) =>
      journal.done.has(s.id) ||
      (s.op.op === 'netns.add' && (journal.intent.has(s.id) || s.id === failedStep?.id)) ||
      // IKE daemons half-started by a crashed run: stopping touches only provably-ours pids and a marked directory.
      (s.op.op === 'ipsec.start' && journal.intent.has(s.id));
    // Namespaces go last, all of a machine's in one batch (one listing, one /proc scan, then
    // the deletions): everything else the lab undoes (OVS daemons, links on SSH hosts) comes
    // first, in reverse plan order, while the namespaces it may need still exist.
    const nsUndos = new Map<Executor, Step[]>();
    for (const step of [...state.steps].reverse()) {
      if (!touched(step) || !step.undo) continue;
      const undo: Step = { ...step, op: step.undo, undo: null };
      if (undo.op.op === 'netns.del') {
        const ex = this.execFor(step.host);
        nsUndos.set(ex, [...(nsUndos.get(ex) ?? []), step]);
        continue;
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
          continue;
        }
      }
      undone++;
      this.store.journalUndone(state.lab, step.id);
      this.bus.emit({ type: 'undo-done', step, durationMs: Date.now() - t0 });
    }
    for (const ex of new Set([...this.allExecs(), ...nsUndos.keys()])) {
      const steps = nsUndos.get(ex) ?? [];
      const nsOf = (s: Step) => (s.undo as { ns: string }).ns;
      const present = await namespaceNames(ex);
      // Anything else carrying this lab's tag (e.g. the state lost track of it) goes too.
      // Only names the lab can have (gl-<lab>-…): a machine may hold hundreds of other namespaces.
      const inSteps = new Set(steps.map(nsOf));
      const strays = [...present].filter((ns) => ns.startsWith(`gl-${state.lab}-`) && !inSteps.has(ns));
      if (!steps.length && !strays.length) continue;
      for (const step of steps) this.bus.emit({ type: 'undo-start', step });
      const t0 = Date.now();
      const results = await removeNamespaces(
        ex,
        [...steps.map((s) => ({ ns: nsOf(s), allowUntagged: true, subject: s.subject })), ...strays.map((ns) => ({ ns }))],
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
          // Not ours (someone re-created the name): never touch it, but say so.
          this.bus.emit({ type: 'notice', level: 'warning', message: `namespace ${r.ns} is not tagged as lab "${state.lab}"'s: left alone` });
        }
        undone++;
        this.store.journalUndone(state.lab, step.id);
        this.bus.emit({ type: 'undo-done', step, durationMs: Date.now() - t0 });
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
    const state = this.store.read(labName);
    if (state) {
      if (state.phase !== 'up' && state.pid !== process.pid && pidAlive(state.pid))
        throw new LabError(`lab "${labName}" is being changed by process ${state.pid} (${state.phase}); wait for it or stop it`, ExitCode.applyFailed);
      await this.connectState(state);
      return { ...(await this.teardown(state, 'down')), found: true };
    }
    const tag = this.tagFor(labName);
    const backend = { backend: this.localBackend };
    const nss = (await taggedNamespaces(this.exec, tag, backend)).map((n) => n.ns);
    const results = await removeNamespaces(this.exec, nss.map((ns) => ({ ns })), tag, backend);
    const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
    return { undone: nss.length - failures.length, failures, found: nss.length > 0 };
  }

  /**
   * Remove what crashed labs left: labs whose state says they were mid-change and whose
   * process is dead, and namespaces tagged as a lab that has no state at all.
   */
  async gc(): Promise<{ labs: string[]; namespaces: string[]; failures: OpFailure[] }> {
    const labs: string[] = [];
    const namespaces: string[] = [];
    const failures: OpFailure[] = [];
    for (const name of this.store.list()) {
      const st = this.store.read(name);
      if (!st || st.phase === 'up' || pidAlive(st.pid)) continue;
      try {
        await this.connectState(st);
      } catch (e) {
        // One lab's unreachable host must not keep gc from collecting the others.
        failures.push({ subject: `lab "${name}"`, request: 'connect', kernelMessage: (e as Error).message });
        continue;
      }
      const r = await this.teardown(st, 'gc');
      failures.push(...r.failures);
      labs.push(name);
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
    return { labs, namespaces, failures };
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
        const ls = here ? await links(ex, ns) : [];
        namespaces.push({
          name: ns,
          present: here,
          links: ls
            .filter((l) => l.ifname !== 'lo')
            .map((l) => ({ ifname: l.ifname, ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}), ...(l.operstate ? { state: l.operstate } : {}) })),
        });
      }
      const ovs = await this.ovsStatus(st);
      out.push({
        lab: name,
        ...(ovs.length ? { ovs } : {}),
        phase: st.phase,
        ...(st.source ? { source: st.source } : {}),
        backend: st.backend,
        crashed: st.phase !== 'up' && !pidAlive(st.pid),
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
