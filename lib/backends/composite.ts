/**
 * One Backend for the engine: kernel operations go to the kernel backend (in runs, so the
 * iproute2 backend can batch them), OVS operations to the OVS runner, in plan order.
 */
import type { Backend, ExecuteHooks } from './backend.js';
import { StepFailed } from './backend.js';
import { isOvsOp, type Step } from '../plan/ops.js';
import { LabError, OpError } from '../errors.js';
import type { OvsRunner } from './ovs-runner.js';
import { isIpsecOp } from '../ipsec/ops.js';
import type { IpsecRunner } from '../ipsec/runner.js';

function asOpError(step: Step, e: unknown): OpError {
  if (e instanceof OpError) return e;
  const msg = e instanceof LabError || e instanceof Error ? e.message : String(e);
  return new OpError({ subject: step.subject, ...(step.host ? { host: step.host } : {}), request: step.op.op, kernelMessage: msg });
}

/** OVS operations go to `ovs`, IPsec operations (ipsec.*, xfrm.*) to `ipsec`, the rest to the kernel backend. */
export function withOvs(kernel: Backend, ovs: OvsRunner, ipsec?: IpsecRunner): Backend {
  const runnerFor = (step: Step) => (isOvsOp(step.op) ? ovs : ipsec && isIpsecOp(step.op) ? ipsec : undefined);
  return {
    name: kernel.name,
    async execute(steps: readonly Step[], hooks: ExecuteHooks) {
      let run: Step[] = [];
      const flush = async () => {
        if (run.length) await kernel.execute(run, hooks);
        run = [];
      };
      for (const step of steps) {
        const runner = runnerFor(step);
        if (!runner) {
          run.push(step);
          continue;
        }
        await flush();
        await hooks.intent([step]);
        const t0 = Date.now();
        try {
          await runner.run(step);
        } catch (e) {
          throw new StepFailed(step, asOpError(step, e));
        }
        await hooks.done(step, Date.now() - t0);
      }
      await flush();
    },
    async run(step: Step) {
      const runner = runnerFor(step);
      if (!runner) return kernel.run(step);
      try {
        await runner.run(step);
      } catch (e) {
        throw asOpError(step, e);
      }
    },
    ...(kernel.netnsTag ? { netnsTag: (ns: string) => kernel.netnsTag!(ns) } : {}),
    ...(kernel.linkDump ? { linkDump: (ns: string) => kernel.linkDump!(ns) } : {}),
    close: () => kernel.close(),
  };
}
