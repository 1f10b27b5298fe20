/**
 * The kernel-feature probe (doctor, and `up`'s prerequisites) runs in a namespace that exists only
 * as long as the probing process: kill -9 in the middle of a probe leaves no namespace (nothing
 * under /run/netns, no holder process). It used to be a named namespace that a crash left behind
 * and that a gc of another state directory could not prove was its own.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { ROOT } from '../../support/cli.js';

const probeEntries = () => readdirSync('/run/netns', { withFileTypes: false }).map(String).filter((n) => n.startsWith('gl-probe-'));
/** Holder processes: `sleep infinity` whose parent chain starts from a probe (setpriv/unshare exec'd into sleep). */
const holders = (parent: number) =>
  execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /\bsleep infinity\b/.test(l) && Number(l.trim().split(/\s+/)[1]) === parent);

privTest('kill -9 during a kernel probe leaves no probe namespace and no holder process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-probekill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'probe.mts');
  // Probe forever, so the kill lands mid-probe whatever the machine's speed.
  writeFileSync(script, `import { probeKernel } from '${join(ROOT, 'lib/doctor/probes.ts')}';\nimport { LocalExecutor } from '${join(ROOT, 'lib/exec/executor.ts')}';\nfor (;;) await probeKernel(new LocalExecutor());\n`);
  const before = probeEntries();
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: 'ignore' });
  // Wait until a probe namespace is held by the child (its holder is the child's own process).
  const deadline = Date.now() + 60_000;
  while (holders(child.pid!).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const held = holders(child.pid!).map((l) => Number(l.trim().split(/\s+/)[0]));
  t.true(held.length > 0, 'the probe was running (a holder existed) when killed');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // By pid: an orphan would be re-parented, so look for the holders themselves. The kernel
  // delivers the parent-death signal at once; allow the reaping a moment.
  const alive = () =>
    held.filter((pid) => {
      try {
        return existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
      } catch {
        return false; // gone between the two reads
      }
    });
  for (let i = 0; i < 100 && alive().length; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(alive(), [], 'no holder left (pdeathsig)');
  t.deepEqual(probeEntries().filter((n) => !before.includes(n)), [], 'no probe namespace under /run/netns');
}, { tools: ['setpriv', 'unshare', 'nsenter'] });
