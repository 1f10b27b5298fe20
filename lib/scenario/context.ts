/**
 * What scenario actions need beyond a check's context: the engine's runtime recorder (changes go
 * through Engine.applyRuntime), each host's executor, each host's OVS instance (the daemons the lab
 * runs in a simulated host, or an SSH machine's service).
 */
import type { CheckContext } from '../checks/context.js';
import type { Executor } from '../exec/executor.js';
import type { RuntimeDraft, RuntimeOptions } from '../engine/runtime.js';
import type { OvsTool } from '../model/scenario.js';
import type { Host } from '../model/types.js';
import { ovsEnv, ovsPaths } from '../ovs/paths.js';
import type { Step } from '../plan/ops.js';
import { ovsTarget } from '../plan/ovs.js';

/** The part of an Engine that records runtime changes (an Engine satisfies it). */
export interface RuntimeApplier {
  applyRuntime(lab: string, drafts: RuntimeDraft[], opts?: RuntimeOptions): Promise<Step[]>;
  markMutated(lab: string, why: string): void;
}

/** One host's OVS instance, as tools and as the target of `ovs.cmds` operations. */
export interface OvsHandle {
  host: string;
  exec: Executor;
  /** The lab's own daemons (simulated host) or a machine's running service (SSH host). */
  owned: boolean;
  /** Fields of an `ovs.cmds` op for this instance (as the planner makes them). */
  op: { ns: string; runDir: string; lab: string; db?: string };
  /** Namespace the daemons run in (simulated hosts); undefined on SSH hosts. */
  ns?: string;
  /** Database socket path and vswitchd's control socket (undefined: the service's default). */
  dbSocket: string;
  vswitchdCtl?: string;
  vswitchdPid: string;
  env: Record<string, string>;
  /** argv of an OVS tool against this instance. */
  argv(tool: OvsTool, args: readonly string[], timeoutSec?: number): string[];
}

export interface ScenarioContext extends CheckContext {
  /** Records changes (set, ovs writes) and marks the lab mutated; absent: the action refuses to change anything. */
  runtime?: RuntimeApplier;
  execFor(host: string): Executor;
  ovs(host: string): OvsHandle;
}

export function ovsHandle(host: Host, lab: CheckContext['lab'], runRoot: string, exec: Executor): OvsHandle {
  const t = ovsTarget({ runRoot, datapathFor: () => 'netdev' }, lab, host);
  const owned = host.placement.kind !== 'ssh';
  const paths = ovsPaths(t.runDir);
  const dbSocket = t.db ?? paths.dbSocket;
  const vswitchdCtl = owned ? paths.vswitchdCtl : undefined;
  const env = ovsEnv(t.runDir);
  return {
    host: host.name,
    exec,
    owned,
    op: { ns: owned ? host.ns : '', ...t },
    ...(owned ? { ns: host.ns } : {}),
    dbSocket,
    ...(vswitchdCtl ? { vswitchdCtl } : {}),
    vswitchdPid: paths.vswitchdPid,
    env,
    argv(tool, args, timeoutSec = 10) {
      switch (tool) {
        case 'vsctl':
          return ['ovs-vsctl', `--db=unix:${dbSocket}`, `--timeout=${timeoutSec}`, ...args];
        case 'ofctl':
          return ['ovs-ofctl', `--timeout=${timeoutSec}`, ...args];
        case 'appctl':
          return ['ovs-appctl', `--timeout=${timeoutSec}`, ...(vswitchdCtl ? ['-t', vswitchdCtl] : []), ...args];
      }
    },
  };
}

/** A scenario context over a check context (the CLI builds it from the Engine). */
export function scenarioContext(ctx: CheckContext, deps: { runtime?: RuntimeApplier; execFor: (host: string) => Executor; runRoot: string }): ScenarioContext {
  const handles = new Map<string, OvsHandle>();
  return {
    ...ctx,
    ...(deps.runtime ? { runtime: deps.runtime } : {}),
    execFor: deps.execFor,
    ovs(host) {
      let h = handles.get(host);
      if (!h) {
        const model = ctx.lab.hosts.find((x) => x.name === host);
        if (!model) throw new Error(`unknown host "${host}"`);
        h = ovsHandle(model, ctx.lab, deps.runRoot, deps.execFor(host));
        handles.set(host, h);
      }
      return h;
    },
  };
}
