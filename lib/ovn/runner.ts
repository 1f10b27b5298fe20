/**
 * Executes the OVN operations of a plan (the OVS runner hands them over): daemons, NB
 * transactions, and readiness. Readiness polls the SB for what it is waiting for (never a
 * fixed sleep) and reports how long the control plane took to converge.
 */
import type { Executor } from '../exec/executor.js';
import { OpError } from '../errors.js';
import type { Step } from '../plan/ops.js';
import { commandFailed } from '../ovs/errors.js';
import { inNetns } from '../exec/executor.js';
import { nbctlArgv } from './commands.js';
import { startCentral, startController, stopCentral, stopController } from './daemons.js';
import type { OvnOp } from './ops.js';
import { ovnEnv } from './paths.js';
import { controlPlaneState, type ControlPlaneState } from './query.js';
import { asMap, asOptional, parseOvsdbTable } from '../ovs/ovsdb-json.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Convergence {
  /** From the central's start to readiness (everything the control plane did). */
  sinceCentralMs?: number;
  /** From the first ovn-controller's start to readiness: chassis registering, binding, building tunnels. */
  sinceFirstChassisMs?: number;
  /** The readiness wait itself: from the last configuration change to converged. */
  waitMs: number;
  chassis: number;
  ports: number;
}

export class OvnRunner {
  /** When each central (by runDir) was started by this process. */
  private readonly started = new Map<string, number>();
  /** When this process started the first ovn-controller since the last central start. */
  private firstChassisAt: number | undefined;
  /** The last convergence measured (the bench reads it through the notice). */
  last?: Convergence;

  constructor(
    private readonly exec: Executor,
    private readonly notice: (msg: string) => void = () => {},
  ) {}

  async run(step: Step): Promise<void> {
    const op = step.op as OvnOp;
    const label = step.host ? `OVN on host "${step.host}"` : `OVN in netns ${op.ns}`;
    switch (op.op) {
      case 'ovn.central.start':
        this.started.set(op.runDir, Date.now());
        this.firstChassisAt = undefined;
        await startCentral({ exec: this.exec, ns: op.ns, runDir: op.runDir, ...(op.listen ? { listen: op.listen } : {}), label: `OVN central (${label})` });
        return;
      case 'ovn.central.stop':
        await stopCentral(this.exec, op.runDir);
        return;
      case 'ovn.controller.start':
        this.firstChassisAt ??= Date.now();
        await startController({ exec: this.exec, ns: op.ns, runDir: op.runDir, ovsRunDir: op.ovsRunDir, label: `ovn-controller of chassis "${op.chassis}"` });
        return;
      case 'ovn.controller.stop':
        await stopController(this.exec, op.runDir);
        return;
      case 'ovn.nbctl': {
        const argv = nbctlArgv(op.runDir, op.cmds);
        const r = await this.exec.run(argv, { env: ovnEnv(op.runDir), timeoutMs: 20_000 });
        if (r.exitCode !== 0) throw commandFailed(step.subject, r, undefined, 'ovn-nbctl refused the transaction (nothing of it was applied)');
        return;
      }
      case 'ovn.ready': {
        const c = await this.ready(op as Extract<OvnOp, { op: 'ovn.ready' }>, step);
        this.last = c;
        const s = (ms: number | undefined) => (ms === undefined ? '?' : (ms / 1000).toFixed(1));
        this.notice(
          `OVN control plane converged: ${c.chassis} chassis registered, ${c.ports} logical port${c.ports === 1 ? '' : 's'} up, every chassis synced (ovn-nbctl --wait=hv sync) — ` +
            `${s(c.sinceFirstChassisMs)} s after the first ovn-controller started (${s(c.sinceCentralMs)} s after the central; final wait ${s(c.waitMs)} s)`,
        );
        return;
      }
      default:
        throw new Error(`internal: ${(op as { op: string }).op} is not an OVN operation`);
    }
  }

  private async ready(op: Extract<OvnOp, { op: 'ovn.ready' }>, step: Step): Promise<Convergence> {
    const t0 = Date.now();
    const deadline = t0 + op.timeoutMs;
    const target = { exec: this.exec, runDir: op.runDir };
    let st: ControlPlaneState | undefined;
    let lastError = '';
    const missing = (s: ControlPlaneState) => ({
      chassis: op.chassis.filter((c) => !s.chassis.includes(c)),
      ports: op.ports.filter((p) => !s.ports.get(p)?.up),
    });
    for (;;) {
      try {
        st = await controlPlaneState(target);
        const m = missing(st);
        if (!m.chassis.length && !m.ports.length) break;
      } catch (e) {
        lastError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      }
      if (Date.now() > deadline) {
        const m = st ? missing(st) : { chassis: op.chassis, ports: op.ports };
        const why = [
          m.chassis.length ? `chassis not registered in the SB: ${m.chassis.join(', ')} (its ovn-controller log says why: ovn-<host>/ovn-controller.log in the lab's run directory)` : '',
          m.ports.length
            ? `logical ports not up: ${m.ports.map((p) => `${p}${st?.ports.get(p) ? (st.ports.get(p)!.chassis ? ` (bound to ${st.ports.get(p)!.chassis})` : ' (not bound to any chassis: is external_ids:iface-id set on its OVS interface?)') : ' (no Port_Binding: is it in the NB?)'}`).join(', ')}`
            : '',
          lastError ? `last error: ${lastError}` : '',
        ].filter(Boolean);
        throw new OpError({ subject: step.subject, ns: op.ns, request: 'wait for every chassis and logical port in the SB database', kernelMessage: `not converged within ${op.timeoutMs / 1000} s: ${why.join('; ')}` });
      }
      await sleep(100);
    }
    // Each chassis builds its tunnels when it sees the others' records, and computes the flows
    // that use them once vswitchd gave them OpenFlow port numbers: wait for those ports first, so
    // that the sync below covers flows computed with every tunnel.
    await this.waitMesh(op, step, deadline);
    // Every chassis has caught up with the NB contents (nb_cfg), so its flows and tunnels exist.
    const left = Math.max(5, Math.ceil((deadline - Date.now()) / 1000));
    const sync = await this.exec.run(nbctlArgv(op.runDir, [['sync']], { wait: 'hv', timeoutS: left }), { env: ovnEnv(op.runDir), timeoutMs: (left + 5) * 1000 });
    if (sync.exitCode !== 0) throw commandFailed(`${step.subject}: waiting for every chassis to apply the NB (ovn-nbctl --wait=hv sync)`, sync, undefined);
    const waitMs = Date.now() - t0;
    // Userspace datapath: every chassis' vswitchd knows every other chassis' MAC.
    await this.waitNeighbours(op, step, deadline);
    const since = this.started.get(op.runDir);
    const end = t0 + waitMs;
    return {
      waitMs,
      ...(since !== undefined ? { sinceCentralMs: end - since } : {}),
      ...(this.firstChassisAt !== undefined ? { sinceFirstChassisMs: end - this.firstChassisAt } : {}),
      chassis: op.chassis.length,
      ports: op.ports.length,
    };
  }

  /** Poll each chassis' OVS until it has a Geneve port with an ofport to every other chassis. */
  private async waitMesh(op: Extract<OvnOp, { op: 'ovn.ready' }>, step: Step, deadline: number): Promise<void> {
    let pending = op.mesh;
    let last = new Map<string, string[]>();
    for (;;) {
      const still: typeof pending = [];
      for (const m of pending) {
        const r = await this.exec.run(['ovs-vsctl', `--db=unix:${m.ovsRunDir}/db.sock`, '--timeout=5', '--format=json', '--data=json', '--columns=ofport,options', 'find', 'Interface', 'type=geneve'], { timeoutMs: 10_000 });
        const have = r.exitCode === 0 ? parseOvsdbTable(r.stdout).filter((x) => Number(asOptional<number>(x.ofport) ?? -1) > 0).map((x) => asMap(x.options).remote_ip ?? '') : [];
        const missing = m.remotes.filter((ip) => !have.includes(ip));
        if (missing.length) {
          still.push(m);
          last.set(m.chassis, missing);
        }
      }
      if (!still.length) return;
      if (Date.now() > deadline)
        throw new OpError({
          subject: step.subject,
          ns: op.ns,
          request: 'wait for every chassis\' Geneve tunnels (ovs-vsctl find Interface type=geneve)',
          kernelMessage: `not converged within ${op.timeoutMs / 1000} s: ${still.map((m) => `chassis ${m.chassis} has no tunnel (with an OpenFlow port) to ${last.get(m.chassis)!.join(', ')}`).join('; ')}`,
        });
      pending = still;
      last = new Map([...last].filter(([c]) => still.some((m) => m.chassis === c)));
      await sleep(100);
    }
  }

  /**
   * vswitchd learns a tunnel neighbour from an ARP reply that reaches the underlay bridge, so
   * make the chassis' own kernel ask: forget its neighbour entry for the address (else it sends
   * no ARP at all), ping it, then read vswitchd's cache; repeat for what is still missing (an
   * ARP request from the other side can refill the kernel's entry in between).
   */
  private async waitNeighbours(op: Extract<OvnOp, { op: 'ovn.ready' }>, step: Step, deadline: number): Promise<void> {
    const cache = async (ovsRunDir: string) => {
      const r = await this.exec.run(['ovs-appctl', '--timeout=5', '-t', `${ovsRunDir}/ovs-vswitchd.ctl`, 'tnl/neigh/show'], { timeoutMs: 10_000 });
      return r.exitCode === 0 ? new Set(r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '')) : new Set<string>();
    };
    await Promise.all(
      op.neighbours.map(async (n) => {
        for (;;) {
          const known = await cache(n.ovsRunDir);
          const missing = n.addresses.filter((a) => !known.has(a));
          if (!missing.length) return;
          if (Date.now() > deadline)
            throw new OpError({
              subject: step.subject,
              ns: n.ns,
              request: `ovs-appctl -t ${n.ovsRunDir}/ovs-vswitchd.ctl tnl/neigh/show`,
              kernelMessage: `chassis ${n.chassis}: vswitchd never learned the MAC of ${missing.join(', ')} on the underlay (no ARP reply reached its bridge); tunnels to ${missing.length > 1 ? 'them' : 'it'} would lose packets`,
            });
          for (const a of missing) {
            await this.exec.run(inNetns(n.ns, ['ip', 'neigh', 'flush', 'to', a]), { timeoutMs: 5000 });
            await this.exec.run(inNetns(n.ns, ['ping', '-c', '1', '-W', '1', a]), { timeoutMs: 5000 });
          }
        }
      }),
    );
  }
}
