/**
 * Issue 19 target 4: the wall time of `geneve-lab vm -- run recipes/kernel-geneve.yaml` under
 * TCG (the whole CLI call, as a user times it), interleaved round by round with:
 *   - the same on the PC machine (GENEVE_LAB_VM_MACHINE=pc; the microvm is the default under
 *     TCG when the host TSC frequency is known, lib/vm/qemu.ts);
 *   - `geneve-lab vm --exec -- true`: the floor (boot, a trivial command, power-off);
 *   - with --compare DIR: the same command from another built checkout (e.g. a `git worktree`
 *     of the commit before a change), rows marked "(DIR)".
 * Every run of the recipe must pass (exit 0). Prints a markdown table of medians (min–max).
 *
 *   npm run build && sudo node --import tsx bench/vm-run.ts [--repeat 5] [--compare DIR]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './stats.js';

const root = resolve(import.meta.dirname, '..');
const flag = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const repeat = Number(flag('--repeat', '5'));
const compare = flag('--compare');

interface Row { label: string; cwd: string; argv: string[]; env?: Record<string, string>; times: number[] }
const cli = (dir: string) => join(dir, 'bin', 'geneve-lab.js');
const rows: Row[] = [
  { label: '`vm -- run recipes/kernel-geneve.yaml` (default: microvm under TCG)', cwd: root, argv: [cli(root), 'vm', '--', 'run', 'recipes/kernel-geneve.yaml'], times: [] },
  { label: 'same, `GENEVE_LAB_VM_MACHINE=pc` (the PC machine)', cwd: root, argv: [cli(root), 'vm', '--', 'run', 'recipes/kernel-geneve.yaml'], env: { GENEVE_LAB_VM_MACHINE: 'pc' }, times: [] },
  { label: 'floor: `vm --exec -- true` (boot, nothing, power-off)', cwd: root, argv: [cli(root), 'vm', '--exec', '--', 'true'], times: [] },
];
if (compare) rows.push({ label: `\`vm -- run recipes/kernel-geneve.yaml\` (${compare})`, cwd: resolve(compare), argv: [cli(resolve(compare)), 'vm', '--', 'run', 'recipes/kernel-geneve.yaml'], times: [] });

function once(r: Row): number {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(process.execPath, r.argv, { cwd: r.cwd, env: { ...process.env, ...r.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (p.status !== 0) throw new Error(`${r.label}: exit ${p.status}\n${p.stdout}\n${p.stderr}`);
  return s;
}

for (const r of rows) once(r); // warm-up: kernel, initramfs, page cache
process.stderr.write(`warm-up done; rows: ${rows.map((r) => r.label).join(' | ')}\n`);
const load0 = loadavg()[0]!;
const date = new Date().toISOString();
for (let i = 0; i < repeat; i++) {
  for (const r of rows) r.times.push(once(r));
  // Per round on stderr: a run cut short still shows what it measured.
  process.stderr.write(`round ${i + 1}/${repeat}: ${rows.map((r) => `${r.times.at(-1)!.toFixed(2)} s`).join(' | ')}\n`);
}
const load1 = loadavg()[0]!;

const floor = median(rows[2]!.times);
console.log(`${date}  ${repeat} interleaved rounds  load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
console.log('');
console.log('| command | median (min–max) s | beyond the floor (s) |');
console.log('|---|---:|---:|');
for (const r of rows) {
  const m = median(r.times);
  console.log(`| ${r.label} | **${m.toFixed(2)}** (${Math.min(...r.times).toFixed(2)}–${Math.max(...r.times).toFixed(2)}) | ${(m - floor).toFixed(2)} |`);
}
