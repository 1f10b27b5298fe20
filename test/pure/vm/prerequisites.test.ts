import test from 'ava';
import { PrerequisiteError, ExitCode, UsageError } from '../../../lib/errors.js';
import { runInVm } from '../../../lib/vm/run.js';
import { defaultCacheDir } from '../../../lib/vm/paths.js';

test.serial('missing qemu is a PrerequisiteError (exit 3) naming the package', async (t) => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.teardown(() => {
    process.env.PATH = saved;
  });
  const err = await t.throwsAsync(runInVm({ argv: ['true'] }), { instanceOf: PrerequisiteError });
  t.is(err!.exitCode, ExitCode.missingPrerequisite);
  t.regex(err!.message, /apt-get install qemu-system-x86/);
});

test('--kernel without --modules is refused with the fix', async (t) => {
  const err = await t.throwsAsync(runInVm({ argv: ['true'], kernel: '/boot/vmlinuz' }), { instanceOf: PrerequisiteError });
  t.regex(err!.message, /--kernel and --modules go together/);
});

test('cache dir: env override, root default, per-user default', (t) => {
  t.is(defaultCacheDir({ GENEVE_LAB_VM_CACHE: '/x' }, 0), '/x');
  t.is(defaultCacheDir({}, 0), '/var/cache/geneve-lab/vm');
  t.is(defaultCacheDir({ XDG_CACHE_HOME: '/home/u/.c' }, 1000), '/home/u/.c/geneve-lab/vm');
  t.truthy(UsageError);
});
