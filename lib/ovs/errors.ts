/**
 * Errors raised by the OVS layer. Bad specs are input errors (exit 2) naming the object and
 * field; failing OVS commands are OpErrors (exit 4) carrying argv, namespace and OVS's words.
 */
import { ExitCode, LabError, OpError } from '../errors.js';
import { shellQuote, type RunResult } from '../exec/executor.js';

/** A port/bridge/option spec that OVS would reject or misread. */
export class OvsSpecError extends LabError {
  constructor(
    readonly subject: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${field}: ${problem}`, ExitCode.invalidInput, { code: 'invalid_ovs_settings' });
  }
  override toJSON() {
    return { ...super.toJSON(), subject: this.subject, field: this.field };
  }
}

/** Turn a failed ovs-* / ip / ethtool run into an OpError naming what was being done. */
export function commandFailed(subject: string, r: RunResult, ns?: string, extra?: string): OpError {
  const own = r.stderr.trim().replace(/^ovs-(vsctl|ofctl|appctl): /gm, '');
  const why = r.timedOut ? `timed out after ${r.durationMs} ms` : own || `exit code ${r.exitCode}`;
  return new OpError({
    subject,
    ...(ns ? { ns } : {}),
    request: shellQuote(r.argv),
    kernelMessage: extra ? `${why}\n    ${extra}` : why,
    stderr: r.stderr,
    exitCode: r.exitCode,
  });
}
