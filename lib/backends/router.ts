/**
 * One Backend over several machines: each step goes to the backend of the host it belongs to
 * (step.host): simulated hosts and networks to the local backend, SSH hosts to the iproute2
 * backend over that host's SSH executor. Consecutive steps for the same backend are handed over
 * together, so each backend still batches what it can.
 */
import type { Backend, ExecuteHooks } from './backend.js';
import type { Step } from '../plan/ops.js';

/** `remoteFor(host)` returns the backend of an SSH host, undefined for anything local. */
export function routeByHost(local: Backend, remoteFor: (host: string | undefined) => Backend | undefined, closeRemotes: () => Promise<void>): Backend {
  const target = (s: Step) => remoteFor(s.host) ?? local;
  return {
    name: local.name,
    async execute(steps: readonly Step[], hooks: ExecuteHooks) {
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
