/** Errors of the disposable VM. */
import { ExitCode, LabError } from '../errors.js';

/**
 * The VM could not run the command: boot failure, kernel panic, timeout. The message ends
 * with the last console lines so the cause is visible without a debug flag.
 */
export class VmError extends LabError {
  readonly consoleTail: string[];
  constructor(message: string, consoleTail: string[] = []) {
    const tail = consoleTail.length ? `\n  last console lines:\n${consoleTail.map((l) => '    | ' + l).join('\n')}` : '';
    super(message + tail, ExitCode.applyFailed, { code: 'vm_failed' });
    this.consoleTail = consoleTail;
  }
  override toJSON() {
    return { ...super.toJSON(), console: this.consoleTail };
  }
}
