/** Every error a user can see carries a stable snake_case code in its JSON form (another helper builds the versioned JSON contract on it). */
import test from 'ava';
import {
  ApplyError, ExitCode, InterruptedError, LabBusyError, LabError, LabIsUpError, LabNotUpError, NeedsRootError, OpError, PrerequisiteError, RecipeError, UsageError,
} from '../../lib/errors.js';
import { SshSpecError, SshUnreachableError } from '../../lib/exec/ssh.js';
import { OvsSpecError } from '../../lib/ovs/errors.js';
import { VmError } from '../../lib/vm/errors.js';

const cases: [LabError, string, number][] = [
  [new RecipeError([]), 'invalid_recipe', 2],
  [new UsageError('x'), 'usage_error', 2],
  [new LabIsUpError('x'), 'lab_is_up', 2],
  [new SshSpecError(['x']), 'invalid_ssh_settings', 2],
  [new OvsSpecError('s', 'f', 'p'), 'invalid_ovs_settings', 2],
  [new PrerequisiteError([]), 'prerequisite_missing', 3],
  [new NeedsRootError('up'), 'needs_root', 3],
  [new SshUnreachableError([]), 'host_unreachable', 3],
  [new OpError({ subject: 's', request: 'r' }), 'operation_failed', 4],
  [new ApplyError(1, { subject: 's', request: 'r' }, { undone: 0, failures: [] }), 'apply_failed', 4],
  [new VmError('x'), 'vm_failed', 4],
  [new LabNotUpError('x', 'y'), 'lab_not_up', 5],
  [new LabBusyError('x', { pid: 1 }), 'lab_busy', 6],
  [new InterruptedError('SIGINT', 'x'), 'interrupted', 130],
  [new InterruptedError('SIGTERM', 'x'), 'interrupted', 143],
  [new LabError('x', ExitCode.applyFailed), 'apply_failed', 4],
];

test('codes and exit codes of every LabError subclass', (t) => {
  for (const [e, code, exit] of cases) {
    t.is(e.code as string, code, e.name);
    t.is(e.exitCode as number, exit, e.name);
    t.like(e.toJSON(), { code, exitCode: exit, error: e.name });
    t.regex(e.code, /^[a-z]+(_[a-z]+)*$/);
  }
});
