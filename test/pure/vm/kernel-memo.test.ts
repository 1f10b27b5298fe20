/**
 * Which Debian kernel package to boot is asked of apt once per state of apt, not on every
 * `geneve-lab vm` (apt-cache depends costs ~0.9 s): a fake apt-cache, a fake apt state, and a
 * cache directory holding an unpacked kernel.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianKernel } from '../../../lib/vm/kernel.js';
import type { Run } from '../../../lib/vm/process.js';

function setup(t: { teardown(f: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gl-kmemo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = join(dir, 'cache');
  for (const v of ['6.1.0-57-amd64', '6.1.0-58-amd64']) {
    mkdirSync(join(cache, 'kernels', v, 'boot'), { recursive: true });
    mkdirSync(join(cache, 'kernels', v, 'lib', 'modules', v), { recursive: true });
    writeFileSync(join(cache, 'kernels', v, 'boot', `vmlinuz-${v}`), 'k');
    writeFileSync(join(cache, 'kernels', v, 'lib', 'modules', v, 'modules.dep'), '');
  }
  const lists = join(dir, 'lists');
  writeFileSync(lists, 'one');
  const apt = { answer: 'linux-image-6.1.0-57-amd64', calls: 0 };
  const run: Run = async (argv) => {
    if (argv[0] !== 'apt-cache') throw new Error(`unexpected ${argv.join(' ')}`);
    apt.calls++;
    return { argv: [...argv], exitCode: 0, stdout: `linux-image-amd64\n  Depends: ${apt.answer}\n`, stderr: '', durationMs: 1, timedOut: false };
  };
  return { cache, lists, apt, kernel: () => ensureDebianKernel(cache, { run, aptStateFiles: [lists, join(dir, 'absent')] }) };
}

test('apt-cache is asked once while apt state is unchanged, and again after it changes', async (t) => {
  const s = setup(t);
  t.is((await s.kernel()).version, '6.1.0-57-amd64');
  t.is((await s.kernel()).version, '6.1.0-57-amd64');
  t.is(s.apt.calls, 1, 'the second run used the remembered answer');
  // apt-get update: new lists, a newer kernel package.
  s.apt.answer = 'linux-image-6.1.0-58-amd64';
  writeFileSync(s.lists, 'two, longer');
  utimesSync(s.lists, new Date(), new Date(Date.now() + 5000));
  t.is((await s.kernel()).version, '6.1.0-58-amd64');
  t.is(s.apt.calls, 2);
});

test('a corrupt memo is ignored, not trusted', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.cache, 'kernels', '.resolved.json'), '{"key": 1, "pkg": "../../etc"}');
  t.is((await s.kernel()).version, '6.1.0-57-amd64');
  t.is(s.apt.calls, 1);
});
