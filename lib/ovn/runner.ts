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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Convergence {
  /** From the central's start to readiness (everything the control plane did). */
  sinceCentralMs?: number;
  /** The readiness wait itself: from the last configuration change to converged. */
  waitMs: number;
  chassis: number;
  ports: number;
}

export class OvnRunner {
  /** When each central (by runDir) was started by this process. */
  private readonly started = new Map<string, number>();
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
        await startCentral({ exec: this.exec, ns: op.ns, runDir: op.runDir, ...(op.listen ? { listen: op.listen } : {}), label: `OVN central (${label})` });
        return;
      case 'ovn.central.stop':
        await stopCentral(this.exec, op.runDir);
        return;
      case 'ovn.controller.start':
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
        const total = c.sinceCentralMs !== undefined ? ` (${(c.sinceCentralMs / 1000).toFixed(1)} s since the central started)` : '';
        this.notice(
          `OVN control plane converged in ${(c.waitMs / 1000).toFixed(1)} s${total}: ${c.chassis} chassis registered, ${c.ports} logical port${c.ports === 1 ? '' : 's'} up, every chassis synced (ovn-nbctl --wait=hv sync)`,
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
    // Every chassis has caught up with the NB contents (nb_cfg), so its flows and tunnels exist.
    const left = Math.max(5, Math.ceil((deadline - Date.now()) / 1000));
    const sync = await this.exec.run(nbctlArgv(op.runDir, [['sync']], { wait: 'hv', timeoutS: left }), { env: ovnEnv(op.runDir), timeoutMs: (left + 5) * 1000 });
    if (sync.exitCode !== 0) throw commandFailed(`${step.subject}: waiting for every chassis to apply the NB (ovn-nbctl --wait=hv sync)`, sync, undefined);
    const waitMs = Date.now() - t0;
    // Userspace datapath: resolve each chassis' tunnel neighbours (see lib/plan/ovn.ts).
    await Promise.all(
      op.warm.map(async (w) => {
        const r = await this.exec.run(inNetns(w.ns, ['ping', '-c', '1', '-W', '2', w.to]), { timeoutMs: 10_000 });
        if (r.exitCode !== 0) this.notice(`${step.subject}: ${w.ns} could not ping chassis address ${w.to} on the underlay (${(r.stdout + r.stderr).trim().split('\n').pop()}); its first tunnel packet may be lost`);
      }),
    );
    const since = [...this.started.entries()].find(([dir]) => dir === op.runDir)?.[1];
    return { waitMs, ...(since !== undefined ? { sinceCentralMs: Date.now() - since } : {}), chassis: op.chassis.length, ports: op.ports.length };
  }
}
