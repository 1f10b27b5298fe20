/**
 * Executes the OVS operations of a plan against the OVS instances of simulated hosts. Kept
 * apart from the kernel backends: whichever of those is used (netlink, iproute2), OVS is
 * driven through its own tools, with readiness waits and Interface.error read-back.
 */
import type { Executor } from '../exec/executor.js';
import type { Step } from '../plan/ops.js';
import { startOvs, OwnedOvs } from '../ovs/daemons.js';
import { OvsInstance } from '../ovs/instance.js';
import { ovsPaths } from '../ovs/paths.js';
import { OpError } from '../errors.js';
import { isOvnOp } from '../ovn/ops.js';
import { OvnRunner } from '../ovn/runner.js';

export class OvsRunner {
  private readonly instances = new Map<string, OvsInstance>();
  /** OVN's operations (lib/ovn/ops.ts): its daemons live next to OVS's and are driven the same way. */
  readonly ovn: OvnRunner;
  constructor(
    private readonly exec: Executor,
    private readonly notice: (msg: string) => void = () => {},
  ) {
    this.ovn = new OvnRunner(exec, notice);
  }

  /** The instance for a run directory: the one started in this process, or one found on disk. */
  private instance(runDir: string, ns: string, lab: string, host?: string, db?: string): OvsInstance {
    let inst = this.instances.get(db ?? runDir);
    if (!inst) {
      const label = host ? `OVS on host "${host}"` : `OVS in netns ${ns}`;
      // `db`: a machine's running OVS service (SSH hosts), used as it is and never stopped.
      inst = db
        ? new OvsInstance({ dbSocket: db, runDir }, { exec: this.exec, lab, ...(ns ? { ns } : {}), label: `${label} (service at ${db})` })
        : new OwnedOvs(ovsPaths(runDir), { exec: this.exec, lab, ns, label });
      this.instances.set(db ?? runDir, inst);
    }
    return inst;
  }

  /**
   * vswitchd creates a bridge's internal netdev (a tap on the userspace datapath) when it
   * applies the database, which can trail ovs-vsctl's return by a moment.
   */
  private async awaitLink(ns: string, link: string, step: Step, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.exec.run(ns ? ['ip', '-n', ns, 'link', 'show', 'dev', link] : ['ip', 'link', 'show', 'dev', link]);
      if (r.exitCode === 0) return;
      if (Date.now() > deadline)
        throw new OpError({ subject: step.subject, ...(step.host ? { host: step.host } : {}), ns, request: `wait for ${link}`, kernelMessage: `OVS did not create the netdev "${link}" within ${timeoutMs / 1000} s` });
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async run(step: Step): Promise<void> {
    const op = step.op;
    if (isOvnOp(op)) return this.ovn.run(step);
    switch (op.op) {
      case 'ovs.start': {
        const inst = await startOvs({ exec: this.exec, ns: op.ns, runDir: op.runDir, tag: op.lab, label: step.host ? `OVS on host "${step.host}"` : `OVS in netns ${op.ns}` });
        this.instances.set(op.runDir, inst);
        return;
      }
      case 'ovs.stop': {
        await this.instance(op.runDir, op.ns, op.lab, step.host).stop();
        this.instances.delete(op.runDir);
        return;
      }
      case 'ovs.cmds':
        await this.instance(op.runDir, op.ns, op.lab, step.host, op.db).apply(op.cmds, step.subject);
        for (const link of op.awaitLinks ?? []) await this.awaitLink(op.ns, link, step);
        return;
      case 'ovs.tunnel': {
        const r = await this.instance(op.runDir, op.ns, op.lab, step.host, op.db).addTunnelPort(op.port);
        for (const w of r.warnings) this.notice(`${step.subject}: vswitchd says: ${w}`);
        return;
      }
      default:
        throw new Error(`internal: ${op.op} is not an OVS operation`);
    }
  }
}
