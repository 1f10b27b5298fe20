/**
 * Boot-to-first-command time of `geneve-lab vm` (qemu start → the command starting inside the
 * guest), plus the whole call (cache checks, boot, a trivial command, power-off).
 * Usage: npx tsx bench/vm-boot.ts [runs=3] [accel=tcg]
 * The kernel and initramfs are prepared once before timing (first use downloads the kernel).
 */
import { loadavg } from 'node:os';
import { PassThrough } from 'node:stream';
import { runInVm } from '../lib/vm/run.js';
import type { AccelRequest } from '../lib/vm/accel.js';

const runs = Number(process.argv[2] ?? 3);
const accel = (process.argv[3] ?? 'tcg') as AccelRequest;
const sink = () => new PassThrough().resume();

await runInVm({ argv: ['true'], accel, stdout: sink(), stderr: sink() }); // warm the caches
const rows: { boot: number; total: number }[] = [];
for (let i = 0; i < runs; i++) {
  const load = loadavg()[0]!.toFixed(1);
  const r = await runInVm({ argv: ['true'], accel, stdout: sink(), stderr: sink() });
  if (r.exitCode !== 0) throw new Error(`run ${i + 1}: exit code ${r.exitCode}`);
  rows.push({ boot: r.bootMs, total: r.totalMs });
  console.log(`| ${i + 1} | ${r.accel} | ${(r.bootMs / 1000).toFixed(2)} | ${(r.totalMs / 1000).toFixed(2)} | ${load} |`);
}
const sorted = rows.map((r) => r.boot).sort((a, b) => a - b);
console.log(`median boot-to-first-command: ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2)} s over ${runs} runs`);
