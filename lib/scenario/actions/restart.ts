/**
 * `restart: { ovs: HOST, timeout: 30s }` — stop that host's ovs-vswitchd and start it again on
 * the same database, waiting until it has applied the database (lib/ovs/restart.ts). Datapath
 * devices in the kernel survive (checked by the VM tier); whether traffic does is for the steps
 * after it to check.
 */
import type { CheckResult } from '../../checks/result.js';
import type { RestartStep } from '../../model/scenario.js';
import { restartVswitchd } from '../../ovs/restart.js';
import { showDuration } from '../duration.js';
import type { ScenarioContext } from '../context.js';

export function restartWhat(s: RestartStep): string {
  return `restart ovs-vswitchd of host "${s.host}" on the same database (ready within ${showDuration(s.timeoutMs)})`;
}

export async function runRestart(s: RestartStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const ovs = ctx.ovs(s.host);
  const out = await restartVswitchd({
    exec: ovs.exec,
    ...(ovs.ns ? { ns: ovs.ns } : {}),
    runDir: ovs.op.runDir,
    pidfile: ovs.owned ? ovs.vswitchdPid : `${ovs.op.runDir}/ovs-vswitchd.pid`,
    dbSocket: ovs.dbSocket,
    owned: ovs.owned,
    label: ovs.owned ? `OVS on host "${s.host}"` : `OVS service of host "${s.host}"`,
    timeoutMs: s.timeoutMs,
  });
  return {
    name: s.name,
    kind: s.kind,
    what: restartWhat(s),
    status: 'passed',
    figures: { old_pid: out.oldPid, new_pid: out.newPid, ready_ms: out.readyMs, how: out.how },
    durationMs: Date.now() - started,
  };
}
