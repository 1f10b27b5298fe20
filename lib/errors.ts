/**
 * Typed errors. Every error the user can see carries enough context to act on it, and maps
 * to one documented exit code. The CLI prints `message` (never a stack trace) and exits with `exitCode`.
 */

export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  invalidInput: 2,
  missingPrerequisite: 3,
  applyFailed: 4,
  /** `check`/`down` of a lab that is not up (nothing was done). */
  labNotUp: 5,
  /** Another geneve-lab process holds the lab (its lock); nothing was done. */
  labBusy: 6,
  /** A bug in geneve-lab (EX_SOFTWARE). */
  internal: 70,
  /** Stopped by SIGINT (Ctrl-C) / SIGTERM: 128 + the signal number, as shells report it. */
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Stable snake_case names of what went wrong, one per kind of outcome, for machines (`--json`,
 * wrappers): unlike messages they never change wording, unlike exit codes they tell apart the
 * causes that share a code (a recipe mistake and a command-line mistake are both exit 2).
 */
export type ErrorCode =
  | 'check_failed'
  | 'invalid_input'
  | 'invalid_recipe'
  | 'usage_error'
  | 'invalid_ssh_settings'
  | 'invalid_ovs_settings'
  | 'lab_is_up'
  | 'prerequisite_missing'
  | 'needs_root'
  | 'host_unreachable'
  | 'apply_failed'
  | 'operation_failed'
  | 'teardown_incomplete'
  | 'vm_failed'
  | 'lab_not_up'
  | 'lab_busy'
  | 'interrupted'
  | 'internal_error';

const CODE_OF_EXIT: Record<number, ErrorCode> = {
  1: 'check_failed',
  2: 'invalid_input',
  3: 'prerequisite_missing',
  4: 'apply_failed',
  5: 'lab_not_up',
  6: 'lab_busy',
  70: 'internal_error',
  130: 'interrupted',
  143: 'interrupted',
};

export class LabError extends Error {
  readonly exitCode: ExitCode;
  /** What went wrong, as a stable machine-readable name (see ErrorCode). */
  readonly code: ErrorCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown; code?: ErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.code = options?.code ?? CODE_OF_EXIT[exitCode] ?? 'internal_error';
  }
  /** Machine-readable form for `--json`. */
  toJSON(): Record<string, unknown> {
    return { error: this.name, code: this.code, message: this.message, exitCode: this.exitCode };
  }
}

/** One problem in a recipe, located in its file. */
export interface Problem {
  file: string;
  line: number; // 1-based; 0 when unknown
  column: number; // 1-based; 0 when unknown
  path: string; // e.g. tunnels[1].vni
  message: string; // what is wrong and what is allowed
  severity: 'error' | 'warning';
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const field = p.path ? `${p.path}: ` : '';
  return `${where}: ${p.severity}: ${field}${p.message}`;
}

export class RecipeError extends LabError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(
      `${errors.length} problem${errors.length === 1 ? '' : 's'} in recipe:\n` + errors.map((p) => '  ' + formatProblem(p)).join('\n'),
      ExitCode.invalidInput,
      { code: 'invalid_recipe' },
    );
    this.problems = problems;
  }
  override toJSON() {
    return { ...super.toJSON(), problems: this.problems };
  }
}

export class UsageError extends LabError {
  constructor(message: string) {
    super(message, ExitCode.invalidInput, { code: 'usage_error' });
  }
}

export class PrerequisiteError extends LabError {
  readonly missing: { feature: string; fix: string }[];
  constructor(missing: { feature: string; fix: string }[]) {
    super(missing.map((m) => `${m.feature}: ${m.fix}`).join('\n'), ExitCode.missingPrerequisite, { code: 'prerequisite_missing' });
    this.missing = missing;
  }
  override toJSON() {
    return { ...super.toJSON(), missing: this.missing };
  }
}

/** Where a failed operation ran and what the system said. */
export interface OpFailure {
  subject: string;
  host?: string;
  ns?: string;
  /** argv for process backends, a description of the request for netlink. */
  request: string;
  errno?: string; // e.g. ERANGE
  kernelMessage?: string; // extack text or the tool's own message
  stderr?: string;
  exitCode?: number;
}

export function describeFailure(f: OpFailure): string {
  const where = [f.host ? `on host "${f.host}"` : '', f.ns ? `(netns ${f.ns})` : ''].filter(Boolean).join(' ');
  const what = f.kernelMessage ?? f.stderr?.trim() ?? 'failed';
  const errno = f.errno ? ` (${f.errno})` : '';
  return `${f.subject}${where ? ' ' + where : ''}: ${what}${errno}\n    request: ${f.request}`;
}

/** A single operation failed. Thrown by backends; the engine wraps it into ApplyError. */
export class OpError extends LabError {
  readonly failure: OpFailure;
  constructor(failure: OpFailure) {
    super(describeFailure(failure), ExitCode.applyFailed, { code: 'operation_failed' });
    this.failure = failure;
  }
  override toJSON() {
    return { ...super.toJSON(), failure: this.failure };
  }
}

export interface RollbackReport {
  undone: number;
  failures: OpFailure[];
}

/** `up` failed at a step; everything created so far was rolled back (see `rollback`). */
export class ApplyError extends LabError {
  readonly stepId: number;
  readonly failure: OpFailure;
  readonly rollback: RollbackReport;
  constructor(stepId: number, failure: OpFailure, rollback: RollbackReport) {
    super(`step ${stepId} failed: ${describeFailure(failure)}\n${describeRollback(rollback)}`, ExitCode.applyFailed, { code: 'apply_failed' });
    this.stepId = stepId;
    this.failure = failure;
    this.rollback = rollback;
  }
  override toJSON() {
    return { ...super.toJSON(), step: this.stepId, failure: this.failure, rollback: this.rollback };
  }
}

/** A verb that changes or enters namespaces was run without root. Nothing was done. */
export class NeedsRootError extends LabError {
  constructor(verb: string) {
    super(
      `geneve-lab ${verb} needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create and enter network namespaces): run it with sudo`,
      ExitCode.missingPrerequisite,
      { code: 'needs_root' },
    );
  }
}

/** `check` or `down` of a lab that is not up (no state and nothing tagged as it). Nothing was done. */
export class LabNotUpError extends LabError {
  constructor(
    readonly lab: string,
    detail: string,
  ) {
    super(`lab "${lab}" is not up: ${detail}`, ExitCode.labNotUp, { code: 'lab_not_up' });
  }
  override toJSON() {
    return { ...super.toJSON(), lab: this.lab };
  }
}

/** Another geneve-lab process holds the lab's lock. Nothing was done. */
export class LabBusyError extends LabError {
  constructor(
    readonly lab: string,
    readonly holder: { pid: number; verb?: string },
  ) {
    super(
      `lab "${lab}" is in use by geneve-lab process ${holder.pid}${holder.verb ? ` (${holder.verb})` : ''}; wait for it to finish, or stop it (Ctrl-C / kill ${holder.pid}) and run \`geneve-lab gc\``,
      ExitCode.labBusy,
      { code: 'lab_busy' },
    );
  }
  override toJSON() {
    return { ...super.toJSON(), lab: this.lab, holder: this.holder };
  }
}

/** `run` of a lab that `up` built: run removes only what it created, so it refuses. */
export class LabIsUpError extends LabError {
  constructor(readonly lab: string) {
    super(
      `lab "${lab}" is up (built by \`geneve-lab up\`): \`run\` would tear it down; use \`geneve-lab check ${lab}\`, or \`geneve-lab down ${lab}\` first`,
      ExitCode.invalidInput,
      { code: 'lab_is_up' },
    );
  }
  override toJSON() {
    return { ...super.toJSON(), lab: this.lab };
  }
}

/** Stopped by SIGINT/SIGTERM. `rollback` says what was undone when the lab was being built. */
export class InterruptedError extends LabError {
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    message: string,
    readonly rollback?: RollbackReport,
  ) {
    super(message, signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted, { code: 'interrupted' });
  }
  override toJSON() {
    return { ...super.toJSON(), signal: this.signal, ...(this.rollback ? { rollback: this.rollback } : {}) };
  }
}

/** How a rollback ended, in one line (or a list of what could not be undone). */
export function describeRollback(rollback: RollbackReport): string {
  return rollback.failures.length === 0
    ? `rolled back: ${rollback.undone} change${rollback.undone === 1 ? '' : 's'} undone, nothing left behind`
    : `ROLLBACK INCOMPLETE: ${rollback.failures.length} change(s) could not be undone (\`geneve-lab gc\` retries):\n` +
        rollback.failures.map((f) => '  ' + describeFailure(f)).join('\n');
}

/** Translate the strerror text that iproute2 prints into an errno name. */
const STRERROR: Record<string, string> = {
  'Operation not permitted': 'EPERM',
  'No such file or directory': 'ENOENT',
  'No such process': 'ESRCH',
  'Device or resource busy': 'EBUSY',
  'File exists': 'EEXIST',
  'No such device': 'ENODEV',
  'Invalid argument': 'EINVAL',
  'Numerical result out of range': 'ERANGE',
  'Numerical argument out of domain': 'EDOM',
  'Operation not supported': 'EOPNOTSUPP',
  'Protocol family not supported': 'EPFNOSUPPORT',
  'Address family not supported by protocol': 'EAFNOSUPPORT',
  'Address already in use': 'EADDRINUSE',
  'Cannot assign requested address': 'EADDRNOTAVAIL',
  'Network is unreachable': 'ENETUNREACH',
  'No buffer space available': 'ENOBUFS',
  'Too many levels of symbolic links': 'ELOOP',
  'Resource temporarily unavailable': 'EAGAIN',
  'Permission denied': 'EACCES',
  'No such device or address': 'ENXIO',
  'Message too long': 'EMSGSIZE',
  'Bad address': 'EFAULT',
  'Not supported': 'ENOTSUP',
  'Protocol not supported': 'EPROTONOSUPPORT',
};

export function errnoFromText(text: string): string | undefined {
  for (const [msg, name] of Object.entries(STRERROR)) if (text.includes(msg)) return name;
  return undefined;
}

/** Errno names by number (Linux x86-64), for netlink's negative error codes. */
export const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY',
  17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 34: 'ERANGE', 33: 'EDOM', 40: 'ELOOP', 90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 96: 'EPFNOSUPPORT', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH', 105: 'ENOBUFS', 6: 'ENXIO',
};
