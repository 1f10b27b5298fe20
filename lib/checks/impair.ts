/**
 * Link impairments with netem: delay, jitter, loss, rate. An argv builder, and apply/clear
 * helpers that turn tc's "unknown qdisc" into a plain "unsupported by this kernel" error
 * (the sandbox kernel has no netem; the VM tier has it).
 */
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import { parseBitrate } from './units.js';

export interface Impairment {
  delayMs?: number;
  /** Delay variation; needs delayMs. */
  jitterMs?: number;
  lossPct?: number;
  /** "100mbit", "1.5G", or bits per second. */
  rate?: string | number;
}

export class ImpairmentError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'ImpairmentError';
  }
}

/** Validate an impairment; returns the problems (empty when fine). */
export function impairmentProblems(i: Impairment): string[] {
  const p: string[] = [];
  const num = (v: number | undefined, name: string, max = Infinity) => {
    if (v !== undefined && (!Number.isFinite(v) || v < 0 || v > max)) p.push(`${name} must be a number between 0 and ${max}, got ${v}`);
  };
  num(i.delayMs, 'delay (ms)');
  num(i.jitterMs, 'jitter (ms)');
  num(i.lossPct, 'loss (%)', 100);
  if (i.jitterMs !== undefined && i.delayMs === undefined) p.push('jitter needs a delay (netem varies the delay by the jitter)');
  if (i.rate !== undefined) {
    try {
      if (parseBitrate(i.rate) <= 0) p.push('rate must be greater than 0');
    } catch (e) {
      p.push(`rate: ${(e as Error).message}`);
    }
  }
  if (i.delayMs === undefined && i.lossPct === undefined && i.rate === undefined) p.push('an impairment needs at least one of delay, loss, rate');
  return p;
}

/** `tc qdisc replace dev IF root netem delay 10ms 2ms loss 1% rate 100000000bit` */
export function netemArgv(dev: string, i: Impairment): string[] {
  const problems = impairmentProblems(i);
  if (problems.length) throw new ImpairmentError(`impairment on ${dev}: ${problems.join('; ')}`);
  const argv = ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'netem'];
  if (i.delayMs !== undefined) {
    argv.push('delay', `${i.delayMs}ms`);
    if (i.jitterMs !== undefined) argv.push(`${i.jitterMs}ms`);
  }
  if (i.lossPct !== undefined) argv.push('loss', `${i.lossPct}%`);
  if (i.rate !== undefined) argv.push('rate', `${Math.round(parseBitrate(i.rate))}bit`);
  return argv;
}

export function clearArgv(dev: string): string[] {
  return ['tc', 'qdisc', 'del', 'dev', dev, 'root'];
}

/** tc's words for "this kernel has no netem". */
export function isNetemUnsupported(stderr: string): boolean {
  return /Specified qdisc kind is unknown|Unknown qdisc "?netem|qdisc kind is unknown/i.test(stderr);
}

export const NETEM_UNSUPPORTED =
  'unsupported by this kernel (no netem qdisc, CONFIG_NET_SCH_NETEM): run it in the VM (`geneve-lab vm …`), whose Debian kernel has netem';

export interface Target {
  exec: Executor;
  ns?: string;
  dev: string;
}

export async function applyImpairment(t: Target, i: Impairment): Promise<void> {
  const argv = inNetns(t.ns, netemArgv(t.dev, i));
  const r = await t.exec.run(argv, { timeoutMs: 10_000 });
  if (r.exitCode === 0) return;
  const where = `${t.dev}${t.ns ? ` (netns ${t.ns})` : ''}`;
  if (isNetemUnsupported(r.stderr)) throw new ImpairmentError(`impairment on ${where}: ${NETEM_UNSUPPORTED}`, true);
  throw new ImpairmentError(`impairment on ${where} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}\n    request: ${shellQuote(argv)}`);
}

/** Remove the root qdisc again. Clearing a link that has no netem is not an error. */
export async function clearImpairment(t: Target): Promise<void> {
  const argv = inNetns(t.ns, clearArgv(t.dev));
  const r = await t.exec.run(argv, { timeoutMs: 10_000 });
  if (r.exitCode === 0 || /Cannot delete qdisc with handle of zero|No such file or directory/i.test(r.stderr)) return;
  const where = `${t.dev}${t.ns ? ` (netns ${t.ns})` : ''}`;
  throw new ImpairmentError(`clearing impairment on ${where} failed: ${r.stderr.trim()}\n    request: ${shellQuote(argv)}`);
}

/** Apply, run `fn`, and always clear (the "add 1% loss, expect iperf ≥ X, clear" step). */
export async function withImpairment<T>(t: Target, i: Impairment, fn: () => Promise<T>): Promise<T> {
  await applyImpairment(t, i);
  try {
    return await fn();
  } finally {
    await clearImpairment(t);
  }
}
