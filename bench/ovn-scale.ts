/**
 * OVN convergence against the number of chassis (issue 20): for each N, bring up the generated
 * lab of bench/ovn-scale-recipe.ts (a central and N workers, userspace datapath on this machine,
 * one guest per worker on one logical switch, no tunnel in the recipe) through the built CLI,
 * read the convergence `up` reports, run the checks (mesh + all ports up + N × (N − 1) pings),
 * and bring it down. One lab at a time; each is removed even when a step fails.
 *
 *   sudo node --import tsx bench/ovn-scale.ts                  # N = 2, 4, 6, 8, 10
 *   sudo node --import tsx bench/ovn-scale.ts --sizes 2,10 --repeat 2
 *
 * Figures per run: `up` wall time; from the first ovn-controller's start to converged (every
 * chassis registered, every port up, `ovn-nbctl --wait=hv sync` returned); from the central's
 * start to converged; the checks' wall time and result; `down` wall time; 1-minute load average
 * before and after (the machine is shared: read the figures with it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ovnScaleRecipe } from './ovn-scale-recipe.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'geneve-lab.js');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

interface Row {
  n: number;
  upS: number;
  chassisS?: number;
  centralS?: number;
  waitS?: number;
  checksS: number;
  checks: string;
  downS: number;
  load: [number, number];
}

function cli(stateDir: string, args: string[]): { code: number; stdout: string; stderr: string; s: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, '--state-dir', stateDir, ...args], { encoding: 'utf8', timeout: 30 * 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', s: (performance.now() - t0) / 1000 };
}

function measure(n: number): Row {
  const lab = `ovnb${n}`;
  const dir = mkdtempSync(join(tmpdir(), 'gl-ovnbench-'));
  const state = join(dir, 'state');
  const file = join(dir, `${lab}.yaml`);
  writeFileSync(file, ovnScaleRecipe(lab, n));
  const load0 = loadavg()[0]!;
  try {
    const up = cli(state, ['up', '--no-checks', file]);
    if (up.code !== 0) throw new Error(`up N=${n} failed (${up.code}): ${up.stderr.slice(-2000)}`);
    const m = /after the first ovn-controller started \((\d+\.\d) s after the central; final wait (\d+\.\d) s\)/.exec(up.stderr);
    const f = /— (\d+\.\d) s after the first ovn-controller started/.exec(up.stderr);
    const chk = cli(state, ['check', '--json', file]);
    let checks = `exit ${chk.code}`;
    try {
      const list = (JSON.parse(chk.stdout) as { checks: { status: string }[] }).checks;
      checks = `${list.filter((c) => c.status === 'passed').length}/${list.length} passed`;
    } catch {
      /* keep the exit code */
    }
    const down = cli(state, ['down', lab]);
    if (down.code !== 0) throw new Error(`down N=${n} failed: ${down.stderr}`);
    return {
      n,
      upS: up.s,
      ...(f ? { chassisS: Number(f[1]) } : {}),
      ...(m ? { centralS: Number(m[1]), waitS: Number(m[2]) } : {}),
      checksS: chk.s,
      checks,
      downS: down.s,
      load: [load0, loadavg()[0]!],
    };
  } finally {
    cli(state, ['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = arg('sizes', '2,4,6,8,10').split(',').map(Number);
const repeat = Number(arg('repeat', '1'));
const rows: Row[] = [];
for (let r = 0; r < repeat; r++)
  for (const n of sizes) {
    const row = measure(n);
    rows.push(row);
    process.stderr.write(`N=${n}: ${JSON.stringify(row)}\n`);
  }
const f = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(1));
console.log(`\n${new Date().toISOString()} — ${process.argv.slice(1).join(' ')}\n`);
console.log('| chassis N | `up` (s) | converged after 1st ovn-controller (s) | after central start (s) | final wait (s) | checks (s) | checks | `down` (s) | load avg 1 min (before → after) |');
console.log('|---:|---:|---:|---:|---:|---:|---|---:|---|');
for (const r of rows) console.log(`| ${r.n} | ${f(r.upS)} | ${f(r.chassisS)} | ${f(r.centralS)} | ${f(r.waitS)} | ${f(r.checksS)} | ${r.checks} | ${f(r.downS)} | ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} |`);
