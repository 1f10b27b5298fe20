/**
 * Checks at kernel speed (issue 19, target 3): a full-mesh ping check phase of N guests on one
 * Linux bridge (N·(N−1) ping checks of 3 probes at 10 ms), timed three ways, interleaved round by round:
 *
 * - old: a `ip netns exec NS ping` process per check, 4 at a time (the scheduler's old fixed limit);
 * - new: in-process ICMP (lib/checks/icmp/) with no `--jobs` (the default, where in-process pings
 *   are not bounded by the process limit), and with `--jobs` = defaultJobs() given explicitly;
 * - Mininet's sequential pingAll (`ping -c1 -W1` per pair) on the same topology: SingleSwitchTopo(N),
 *   LinuxBridge, no controller, run inside a namespace of its own (bench/mininet-pingall.py).
 *
 * The lab is built once with the CLI (`up --no-checks`, netlink backend) and taken down at the end;
 * only the check phase is timed (runChecks, as `check` runs it, without the CLI's start-up). Every
 * round's checks must all pass, Mininet's pingAll must report 0% loss.
 *
 *   sudo node --import tsx bench/ping-mesh.ts [--guests 10] [--repeat 7]
 *
 * Installs Debian's mininet and bridge-utils when `mn` is missing (bench only, not scripts/install.sh);
 * Mininet runs under Debian's /usr/bin/python3 (its module is in that Python's dist-packages).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { contextFromLab } from '../lib/checks/context.js';
import { defaultJobs, runChecks } from '../lib/checks/run.js';
import { EventBus } from '../lib/engine/events.js';
import { LocalExecutor } from '../lib/exec/executor.js';
import type { PingCheck } from '../lib/model/types.js';
import { loadRecipeFile } from '../lib/recipe/load.js';
import { scaleLayout, scaleRecipe } from './scale-recipe.js';
import { median } from './stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const n = Number(flag('--guests', '10'));
const repeat = Number(flag('--repeat', '7'));
const LAB = 'fpmesh';
const MN_NS = 'gl-fpmesh-mininet';

const dir = mkdtempSync(join(tmpdir(), 'gl-bench-ping-'));
const stateDir = join(dir, 'state');
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli', 'main.ts'), '--state-dir', stateDir, '--backend', 'netlink', ...args], { cwd: root, encoding: 'utf8' });

let mininet: ReturnType<typeof spawn> | undefined;
function cleanup(): void {
  mininet?.stdin?.end('quit\n');
  cli(['down', LAB]);
  spawnSync('ip', ['netns', 'del', MN_NS], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

if (spawnSync('sh', ['-c', 'command -v mn && command -v brctl'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('bench: installing Debian\'s mininet and bridge-utils (bench only)\n');
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'mininet', 'bridge-utils'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('apt-get install mininet bridge-utils failed');
}


// geneve-lab: the lab, and N·(N−1) ping checks over it.
const layout = scaleLayout(LAB, n);
const recipe = join(dir, `mesh-${n}.yaml`);
writeFileSync(recipe, scaleRecipe(layout));
const up = cli(['up', recipe, '--no-checks']);
if (up.status !== 0) throw new Error(`up failed: ${up.stderr}`);
const { lab } = await loadRecipeFile(recipe);
const checks: PingCheck[] = [];
for (const a of layout.guests) for (const b of layout.guests) {
  if (a !== b) checks.push({ kind: 'ping', name: `${a.name}-${b.name}`, from: a.name, to: b.name, family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 10, deadlineS: 5, expect: 'reachable', maxLossPct: 0 });
}
const ctx = contextFromLab(lab, new LocalExecutor());
async function phase(probes: 'process' | 'auto', jobs: number | undefined): Promise<number> {
  const t0 = process.hrtime.bigint();
  const results = await runChecks(checks, { ...ctx, probes, ...(jobs ? { jobs } : {}) }, new EventBus());
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bad = results.filter((r) => r.status !== 'passed');
  if (bad.length) throw new Error(`${bad.length} checks did not pass (${probes}): ${bad[0]!.name}: ${bad[0]!.message}`);
  if (probes === 'auto' && !results.every((r) => r.raw?.startsWith('# in-process ICMP'))) throw new Error('a check did not run in-process');
  return s;
}

// Mininet, in a namespace of its own.
spawnSync('ip', ['netns', 'add', MN_NS]);
mininet = spawn('ip', ['netns', 'exec', MN_NS, '/usr/bin/python3', join(root, 'bench', 'mininet-pingall.py'), String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: mininet.stdout! })[Symbol.asyncIterator]();
const next = async () => {
  const l = await lines.next();
  if (l.done) throw new Error('mininet helper ended');
  return l.value;
};
if ((await next()) !== 'ready') throw new Error('mininet helper did not start');
async function pingAll(): Promise<number> {
  mininet!.stdin!.write('go\n');
  const [s, loss] = (await next()).split(' ');
  if (Number(loss) !== 0) throw new Error(`Mininet pingAll lost ${loss}%`);
  return Number(s);
}

const jobs = defaultJobs();
await phase('auto', undefined); // warm-up: neighbour tables filled, as in Mininet's warm-up
const t = { old: [] as number[], new: [] as number[], bounded: [] as number[], mn: [] as number[] };
const load0 = loadavg()[0]!;
const date = new Date().toISOString();
for (let r = 0; r < repeat; r++) {
  t.old.push(await phase('process', 4));
  t.new.push(await phase('auto', undefined));
  t.bounded.push(await phase('auto', jobs));
  t.mn.push(await pingAll());
}
const load1 = loadavg()[0]!;
const f = (xs: number[]) => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
console.log(`${date}  ${n} guests, ${checks.length} ping checks × 3 probes at 10 ms; Mininet pingAll: ${checks.length} × ping -c1; ${repeat} interleaved rounds; load avg ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
console.log('');
console.log('| run | median (min–max) s | ÷ Mininet pingAll |');
console.log('|---|---:|---:|');
console.log(`| old: ping process per check, 4 at a time | ${f(t.old)} | ${(median(t.old) / median(t.mn)).toFixed(2)} |`);
console.log(`| new: in-process ICMP, no --jobs (the default: in-process pings not bounded by it) | ${f(t.new)} | **${(median(t.new) / median(t.mn)).toFixed(2)}** |`);
console.log(`| new: in-process ICMP, --jobs ${jobs} (an explicit bound = the process default on this machine) | ${f(t.bounded)} | ${(median(t.bounded) / median(t.mn)).toFixed(2)} |`);
console.log(`| Mininet 2.3.0 pingAll (LinuxBridge, no controller) | ${f(t.mn)} | 1.00 |`);
// The Mininet helper's pipes keep the event loop alive: stop its net, wait for it, then leave (cleanup downs the lab).
mininet.stdin!.end('quit\n');
await new Promise((res) => mininet!.once('exit', res));
mininet = undefined;
process.exit(0);
