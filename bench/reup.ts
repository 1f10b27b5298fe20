/**
 * Re-`up` of an unchanged lab (issue 19, target 5): the drift check of a lab that is already up.
 * For each N: `up` a generated N-guest lab (bench/scale-recipe.ts) with the built CLI, then R
 * rounds of [`geneve-lab --version`, `geneve-lab up` again] — interleaved, so load falls on both —
 * then `down`. Prints median re-up time, min–max, the re-up minus start-up (median `--version`)
 * and the load average.
 *
 *   npm run build && sudo node --import tsx bench/reup.ts [--sizes 200,1000] [--repeat 5] [--backend netlink]
 *
 * Lab "spreup" in a fresh state directory; removed at the end, also on failure.
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
const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const sizes = flag('--sizes', '200,1000').split(',').map(Number);
const repeat = Number(flag('--repeat', '5'));
const backend = flag('--backend', 'netlink');
const LAB = 'spreup';

const dir = mkdtempSync(join(tmpdir(), 'gl-bench-reup-'));
const stateDir = join(dir, 'state');

function geneveLab(args: string[]): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, '--state-dir', stateDir, '--backend', backend, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`geneve-lab ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const down = () => spawnSync(process.execPath, [cli, '--state-dir', stateDir, 'down', LAB], { stdio: 'ignore' });
process.on('exit', () => {
  down();
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const sec = (ms: number) => (ms / 1000).toFixed(2);

console.log(`${new Date().toISOString()}  node ${process.version}  backend ${backend}  ${repeat} interleaved rounds`);
console.log('');
console.log('| N guests | first up (s) | re-up median (s) | re-up min–max (s) | --version median (s) | re-up − start-up (s) | load avg before → after |');
console.log('|---:|---:|---:|---:|---:|---:|---|');
for (const n of sizes) {
  const recipe = join(dir, `guests-${n}.yaml`);
  writeFileSync(recipe, scaleRecipe(scaleLayout(LAB, n)));
  const load0 = loadavg()[0]!;
  const first = geneveLab(['up', recipe, '--no-checks']);
  const reups: number[] = [];
  const versions: number[] = [];
  for (let r = 0; r < repeat; r++) {
    versions.push(geneveLab(['--version']).ms);
    const again = geneveLab(['up', recipe, '--no-checks']);
    if (!/already up: nothing changed/.test(again.stdout)) throw new Error(`re-up of an unchanged lab changed something: ${again.stdout}`);
    reups.push(again.ms);
  }
  const load1 = loadavg()[0]!;
  down();
  console.log(
    `| ${n} | ${sec(first.ms)} | **${sec(median(reups))}** | ${sec(Math.min(...reups))}–${sec(Math.max(...reups))} | ${sec(median(versions))} | ${sec(median(reups) - median(versions))} | ${load0.toFixed(1)} → ${load1.toFixed(1)} |`,
  );
}
