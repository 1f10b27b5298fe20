/**
 * CLI start-up and validation benchmark (issue 19, targets 1 and 2), measured in ONE run with
 * every command interleaved (round r runs each command once, in turn), so the load other work
 * puts on the machine falls on all of them alike:
 *   - `node -e 0`                         the floor for any Node program;
 *   - `geneve-lab --version`              start-up alone;
 *   - `geneve-lab validate quickstart`    the smallest useful verb;
 *   - `geneve-lab validate` of generated N-guest recipes (bench/scale-recipe.ts), N = 200, 1000.
 * Prints a markdown table: median wall time of R runs (default 7), min–max, and the ratios the
 * issue sets targets on (N=1000 / N=200; validate N=1000 minus `--version`; `--version` /
 * `node -e 0`), with the load average before and after.
 *
 *   npm run build && node --import tsx bench/validate-scale.ts [--repeat 7] [--sizes 200,1000] [--compare DIR]
 *
 * --compare DIR: also time the CLI of another built checkout (e.g. a `git worktree` of the
 * commit before a change), interleaved with this one, rows marked "(DIR)".
 *
 * Runs the built CLI (bin/geneve-lab.js: the bundle when it is current), as users do.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleLayout, scaleRecipe } from './scale-recipe.js';
import { median } from './stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'geneve-lab.js');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const repeat = Number(flag('--repeat', '7'));
const sizes = flag('--sizes', '200,1000').split(',').map(Number);
const compare = flag('--compare', '');

const dir = mkdtempSync(join(tmpdir(), 'gl-bench-validate-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Subject {
  label: string;
  argv: string[];
}
const subjects: Subject[] = [
  { label: 'node -e 0', argv: ['-e', '0'] },
  { label: 'geneve-lab --version', argv: [cli, '--version'] },
  { label: 'geneve-lab validate recipes/quickstart.yaml', argv: [cli, 'validate', join(root, 'recipes', 'quickstart.yaml')] },
];
for (const n of sizes) {
  const file = join(dir, `guests-${n}.yaml`);
  writeFileSync(file, scaleRecipe(scaleLayout('bench', n)));
  subjects.push({ label: `geneve-lab validate (N = ${n} guests)`, argv: [cli, 'validate', file] });
}

if (compare) {
  const other = join(compare, 'bin', 'geneve-lab.js');
  for (const s of subjects.slice(1)) subjects.push({ label: `${s.label} (${compare})`, argv: [other, ...s.argv.slice(1)] });
}

function timeOnce(s: Subject): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, s.argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${s.label} failed (exit ${r.status}): ${r.stderr}`);
  return ms;
}


const loadBefore = loadavg()[0]!;
const times = new Map<string, number[]>(subjects.map((s) => [s.label, []]));
for (const s of subjects) timeOnce(s); // warm the page cache and Node's compile cache: not measured
for (let r = 0; r < repeat; r++) for (const s of subjects) times.get(s.label)!.push(timeOnce(s));
const loadAfter = loadavg()[0]!;

const med = (label: string) => median(times.get(label)!);
const fmt = (ms: number) => (ms / 1000).toFixed(3);
console.log(`${new Date().toISOString()}  node ${process.version}  ${repeat} interleaved runs each  load average (1 min) ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}\n`);
console.log('| command | median (s) | min–max (s) |');
console.log('|---|---:|---:|');
for (const s of subjects) {
  const xs = times.get(s.label)!;
  console.log(`| ${s.label} | ${fmt(med(s.label))} | ${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))} |`);
}
const floor = med('node -e 0');
const version = med('geneve-lab --version');
console.log('');
console.log(`--version / node -e 0: ${(version / floor).toFixed(2)}× (target ≤ 3×)`);
console.log(`validate quickstart: ${fmt(med('geneve-lab validate recipes/quickstart.yaml'))} s (target ≤ 0.25 s)`);
if (sizes.includes(200) && sizes.includes(1000)) {
  const v200 = med('geneve-lab validate (N = 200 guests)');
  const v1000 = med('geneve-lab validate (N = 1000 guests)');
  console.log(`validate N=1000 / N=200: ${(v1000 / v200).toFixed(2)}× (target ≤ 6×)`);
  console.log(`validate N=1000 beyond start-up (minus --version): ${fmt(v1000 - version)} s (target ≤ 0.3 s)`);
}
