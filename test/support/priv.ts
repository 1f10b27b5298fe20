/**
 * Privileged tests (root: real namespaces, links, daemons). When they cannot run they are
 * registered as skipped with a loud reason — never silently passed — and the summary line
 * counts them as skipped.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const isRoot = process.getuid?.() === 0;

/** Whether a program is on PATH. */
export function hasTool(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why a privileged test cannot run here, or undefined when it can. */
export function privReason(tools: string[] = []): string | undefined {
  if (!isRoot) return 'needs root';
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length) return `missing tools: ${missing.join(', ')}`;
  return undefined;
}

/** Register a privileged test; skipped loudly (with reason in the title) when it cannot run. */
export function privTest(
  title: string,
  fn: (t: ExecutionContext) => Promise<void> | void,
  opts: { tools?: string[] } = {},
): void {
  const reason = privReason(['ip', ...(opts.tools ?? [])]);
  if (reason) {
    process.stderr.write(`\n!!! PRIVILEGED TEST NOT RUN (${reason}): ${title}\n`);
    test.skip(`${title} [NOT RUN: ${reason}]`, () => {});
    return;
  }
  test.serial(title, fn);
}

/** A lab name that cannot collide with another test run. */
export function randomLabName(prefix = 't'): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}
