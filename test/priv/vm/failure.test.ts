/**
 * One boot whose guest kernel panics mid-command (sysrq crash): the host must report a VmError
 * naming the panic with the last console lines, not hang and not return a made-up exit code.
 */
import { PassThrough } from 'node:stream';
import { privTest } from '../../support/priv.js';
import { VmError } from '../../../lib/vm/errors.js';
import { runInVm } from '../../../lib/vm/run.js';
import { ExitCode } from '../../../lib/errors.js';

privTest(
  'geneve-lab vm: a kernel panic inside the VM is reported with the console tail and qemu is gone',
  async (t) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const err = await t.throwsAsync(
      runInVm({ argv: ['sh', '-c', 'echo before-panic; echo c > /proc/sysrq-trigger; sleep 30; echo survived'], stdout: out, stderr: new PassThrough(), timeoutSec: 300 }),
      { instanceOf: VmError },
    );
    t.regex(err!.message, /kernel panicked/);
    t.true((err as VmError).consoleTail.some((l) => /Kernel panic|sysrq/i.test(l)), (err as VmError).consoleTail.join('\n'));
    t.is((err as VmError).exitCode, ExitCode.applyFailed);
    t.is(text, 'before-panic\n');
  },
  { tools: ['qemu-system-x86_64'] },
);
