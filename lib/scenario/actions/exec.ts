/**
 * `exec: { on: NODE, argv: [...], expect_exit: 0, stdout: MATCHER, stderr: MATCHER }` — any command
 * in a lab node's namespace (a guest's, a host's, a switch's host's; on an SSH host the machine
 * itself), argv only. The verdict compares exit code and output with what the step expects
 * (lib/checks/expect.ts), and the output is kept for --artifacts.
 */
import { assert, assertionVerdict, type Assertion } from '../../checks/expect.js';
import type { CheckResult } from '../../checks/result.js';
import { inNetns, shellQuote } from '../../exec/executor.js';
import type { ExecStep } from '../../model/scenario.js';
import type { ScenarioContext } from '../context.js';

export function execWhat(s: ExecStep): string {
  return `${shellQuote(s.argv)} in ${s.on}${s.expectExit ? `, expecting exit ${s.expectExit}` : ''}`;
}

/** The output of a command as artifacts keep it. */
export function commandRaw(argv: readonly string[], r: { exitCode: number; stdout: string; stderr: string; timedOut?: boolean }): string {
  return `$ ${shellQuote(argv)}\n--- stdout\n${r.stdout}${r.stdout.endsWith('\n') || !r.stdout ? '' : '\n'}--- stderr\n${r.stderr}${r.stderr.endsWith('\n') || !r.stderr ? '' : '\n'}--- exit code ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\n`;
}

/** Last lines of a tool's stderr (or stdout) for a one-glance failure message. */
export function tail(text: string, lines = 4): string {
  const l = text.trim().split('\n').filter(Boolean);
  return l.slice(-lines).join('\n');
}

export async function runExec(s: ExecStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const ep = ctx.endpoint(s.on);
  const argv = inNetns(ep.ns, s.argv);
  const where = ep.ns ? `netns ${ep.ns}` : `host "${ep.host ?? s.on}" (${ep.exec.where})`;
  const r = await ep.exec.run(argv, { timeoutMs: s.timeoutMs });
  const base = { name: s.name, kind: s.kind, what: execWhat(s), durationMs: Date.now() - started, raw: commandRaw(argv, r), figures: { exit: r.exitCode } };
  if (r.spawnError) return { ...base, status: 'error', message: `${shellQuote(s.argv)} could not be started in ${where}: ${r.stderr.trim() || r.spawnError}` };
  if (r.timedOut) return { ...base, status: 'error', message: `${shellQuote(s.argv)} in ${where} did not finish within ${s.timeoutMs / 1000} s (killed); raise the step's timeout if it is meant to take longer` };
  const assertions: Assertion[] = [assert('exit code', s.expectExit, r.exitCode)];
  if (s.stdout !== undefined) assertions.push(assert('stdout', s.stdout, r.stdout));
  if (s.stderr !== undefined) assertions.push(assert('stderr', s.stderr, r.stderr));
  const v = assertionVerdict(`${shellQuote(s.argv)} in ${where}`, assertions);
  const out = tail(r.stderr) || tail(r.stdout);
  return {
    ...base,
    status: v.status,
    ...(v.message ? { message: v.message + (out && v.status !== 'passed' ? `\n  output: ${out.replace(/\n/g, '\n          ')}` : '') } : {}),
    details: { assertions: v.assertions },
  };
}
