/**
 * The kernel-feature probe (doctor, and `up`'s prerequisites) runs each probe process in a
 * namespace that exists only as long as that process: kill -9 of geneve-lab in the middle of a
 * probe leaves no namespace (nothing under /run/netns) and no process in one. It used to be a
 * named namespace that a crash left behind and that a gc of another state directory could not
 * prove was its own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { ROOT } from '../../support/cli.js';

const probeEntries = () => readdirSync('/run/netns', { withFileTypes: false }).map(String).filter((n) => n.startsWith('gl-probe-'));
const ourNet = readlinkSync('/proc/self/ns/net');

/**
 * Processes descended from the killed prober, found by identity — a token in the environment every
 * descendant inherits (re-parenting after the kill would hide them from a parent-based search) —
 * that live in another network namespace than ours (a probe namespace).
 */
function probeProcesses(token: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(token)) continue;
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) continue;
      if (readlinkSync(`/proc/${entry}/ns/net`) !== ourNet) found.push(Number(entry));
    } catch {
      // gone between the reads
    }
  }
  return found;
}

privTest('kill -9 during a kernel probe leaves no probe namespace and no process in one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-probekill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'probe.mts');
  // Probe forever, so the kill lands mid-probe whatever the machine's speed.
  writeFileSync(script, `import { probeKernel } from '${join(ROOT, 'lib/doctor/probes.ts')}';\nimport { LocalExecutor } from '${join(ROOT, 'lib/exec/executor.ts')}';\nfor (;;) await probeKernel(new LocalExecutor());\n`);
  const before = probeEntries();
  const token = `GL_PROBEKILL=${randomBytes(6).toString('hex')}`;
  const [key, value] = token.split('=');
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, [key!]: value } });
  // Wait until a probe process of the child runs in a namespace of its own, then kill at once.
  const deadline = Date.now() + 60_000;
  let seen: number[] = [];
  while ((seen = probeProcesses(token)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  child.kill('SIGKILL');
  t.true(seen.length > 0, 'a probe process was running in its probe namespace when geneve-lab was killed');
  await new Promise((r) => child.once('exit', r));
  // Each probe process reads nothing more (its stdin closed with the parent) and ends; its
  // namespace ends with it. Allow the exits a moment.
  for (let i = 0; i < 100 && probeProcesses(token).length; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(probeProcesses(token), [], 'no process left in a probe namespace');
  t.deepEqual(probeEntries().filter((n) => !before.includes(n)), [], 'no probe namespace under /run/netns');
}, { tools: ['unshare'] });
