/**
 * `ovs: { on: SWITCH|HOST, vsctl|ofctl|appctl: [...], expect_exit: 0 }` — one OVS command against
 * the instance that runs the switch: the lab's own daemons in a simulated host (their database and
 * control sockets), or an SSH machine's service. ofctl gets the switch's bridge after the command
 * word, and recipe port names were resolved to the real ones (resolve-steps.ts).
 *
 * A command that may change OVS runs through Engine.applyRuntime as an `ovs.cmds` step: journaled
 * like `up`'s steps, with, on an SSH host, the undo of what it adds (bridges, ports). A command
 * expected to fail, or one that only reads, runs directly.
 */
import { assert, assertionVerdict } from '../../checks/expect.js';
import type { CheckResult } from '../../checks/result.js';
import type { RunResult } from '../../exec/executor.js';
import { shellQuote } from '../../exec/executor.js';
import type { OvsStep } from '../../model/scenario.js';
import { ovsUndo } from '../../plan/ovs.js';
import type { Op } from '../../plan/ops.js';
import type { ScenarioContext } from '../context.js';
import { commandRaw, tail } from './exec.js';

export function ovsWhat(s: OvsStep): string {
  return `ovs-${s.tool} ${s.written.join(' ')} on ${s.switch ? `switch "${s.switch}"` : `host "${s.host}"`}${s.expectExit ? `, expecting exit ${s.expectExit}` : ''}`;
}

export async function runOvs(s: OvsStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const ovs = ctx.ovs(s.host);
  const argv = ovs.argv(s.tool, s.args);
  let r: RunResult | undefined;
  const run = async () => {
    r = await ovs.exec.run(argv, { env: ovs.env, timeoutMs: 30_000 });
    return r;
  };
  const recorded = s.writes && s.expectExit === 0 && ctx.runtime;
  let notRun: string | undefined;
  if (recorded) {
    const op: Extract<Op, { op: 'ovs.cmds' }> = { op: 'ovs.cmds', ...ovs.op, cmds: [{ tool: s.tool, args: s.args }] };
    try {
      await ctx.runtime!.applyRuntime(ctx.lab.name, [{ subject: `step "${s.name}" on host "${s.host}"`, host: s.host, op, undo: ovs.owned ? null : ovsUndo(op) }], {
        run: async () => {
          const res = await run();
          if (res.exitCode !== 0) throw new Error(`exit ${res.exitCode}`);
        },
      });
    } catch (e) {
      // The verdict below reads the command's own result; without one, the recording failed.
      notRun = e instanceof Error ? e.message : String(e);
    }
  } else await run();
  const base = { name: s.name, kind: s.kind, what: ovsWhat(s), durationMs: Date.now() - started };
  if (!r) return { ...base, status: 'error', message: `ovs-${s.tool} did not run${notRun ? `: ${notRun}` : ''}`, figures: {} };
  const res = r as RunResult;
  const full = { ...base, figures: { exit: res.exitCode }, raw: commandRaw(argv, res) };
  if (res.spawnError) return { ...full, status: 'error', message: `${argv[0]} could not be started on host "${s.host}": ${res.stderr.trim() || res.spawnError}` };
  const v = assertionVerdict(`${shellQuote(['ovs-' + s.tool, ...s.args])} (${ovs.owned ? `OVS of host "${s.host}"` : `OVS service of host "${s.host}"`})`, [assert('exit code', s.expectExit, res.exitCode), ...(s.stdout !== undefined ? [assert('stdout', s.stdout, res.stdout)] : [])]);
  const out = tail(res.stderr) || tail(res.stdout);
  return { ...full, status: v.status, ...(v.message ? { message: v.message + (out ? `\n  ovs-${s.tool} says: ${out.replace(/\n/g, '\n    ')}` : '') } : {}), details: { assertions: v.assertions } };
}
