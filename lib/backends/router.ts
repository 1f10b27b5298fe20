/**
 * One Backend over several machines: each step goes to the backend of the host it belongs to
 * (step.host): simulated hosts and networks to the local backend, SSH hosts to the iproute2
 * backend over that host's SSH executor. Consecutive steps for the same backend are handed over
 * together, so each backend still batches what it can.
 */
import type { Backend, ExecuteHooks } from './backend.js';
import { StepFailed } from './backend.js';
import type { Step } from '../plan/ops.js';

/** `remoteFor(host)` returns the backend of an SSH host, undefined for anything local. */
export function routeByHost(local: Backend, remoteFor: (host: string | undefined) => Backend | undefined, closeRemotes: () => Promise<void>): Backend {
  const target = (s: Step) => remoteFor(s.host) ?? local;
  return {
    name: local.name,
    async execute(steps: readonly Step[], hooks: ExecuteHooks) {
      if (steps.length && steps.every((s) => remoteFor(s.host))) return executeInParallel(steps, target, hooks);
      let run: Step[] = [];
      let current: Backend | undefined;
      for (const step of steps) {
        const b = target(step);
        if (current && b !== current) {
          await current.execute(run, hooks);
          run = [];
        }
        current = b;
        run.push(step);
      }
      if (current && run.length) await current.execute(run, hooks);
    },
    run: (step: Step) => target(step).run(step),
    async close() {
      try {
        await local.close();
      } finally {
        await closeRemotes();
      }
    },
  };
}

/**
 * All steps on SSH hosts: each machine's steps depend only on earlier steps of the same machine
 * (a tunnel names the other end by address), so the hosts are built at the same time, each in
 * plan order. Every host runs until done or its own first failure (each completed step is
 * journaled through the hooks, so rollback sees it); then the failure with the lowest step id
 * is reported.
 */
async function executeInParallel(steps: readonly Step[], target: (s: Step) => Backend, hooks: ExecuteHooks): Promise<void> {
  const byBackend = new Map<Backend, Step[]>();
  for (const s of steps) {
    const b = target(s);
    byBackend.set(b, [...(byBackend.get(b) ?? []), s]);
  }
  const results = await Promise.allSettled([...byBackend].map(([b, own]) => b.execute(own, hooks)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (!failures.length) return;
  const id = (e: unknown) => (e instanceof StepFailed ? e.step.id : Number.MAX_SAFE_INTEGER);
  throw failures.sort((x, y) => id(x) - id(y))[0];
}
