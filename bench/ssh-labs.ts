/**
 * SSH-lab benchmark (issues 8 and 19): time `geneve-lab up` (and `down`) of a chain lab whose N
 * hosts are real OpenSSH servers in namespaces on this machine (test/support/sshd.ts), and count
 * the SSH connections each command opened on each host (from the servers' logs; expected: 1).
 *
 *   sudo GENEVE_LAB_TEST_CLI=dist node --import tsx bench/ssh-labs.ts               # N = 2 and 10, once
 *   sudo GENEVE_LAB_TEST_CLI=dist node --import tsx bench/ssh-labs.ts 5 20 --repeat 5
 *
 * With --repeat R every size is measured R times, interleaved (round r runs each size once), on
 * SSH machines started once per size; the table shows medians with min–max, and the per-host
 * cost is the slope between the smallest and the largest size: (up(Nmax) − up(Nmin)) / (Nmax − Nmin).
 * GENEVE_LAB_TEST_CLI=dist runs the built CLI (`npm run build` first), else the sources via tsx.
 *
 * Each lab: host box-i (198.51.100.(10+i)), a Linux bridge and one guest on it, VXLAN tunnels
 * between neighbours, one ping check from the first guest to the last (run by `up`, timed apart
 * from the build by the engine's own duration). Everything is removed even on failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSshLab, type SshLab } from '../test/support/sshd.js';
import { chainRecipe, cliIn } from '../test/support/ssh-recipes.js';
import { median } from './stats.js';

const args = process.argv.slice(2);
const ri = args.indexOf('--repeat');
const repeat = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 1;
const sizes = args.map(Number).filter((n) => n >= 2);
if (!sizes.length) sizes.push(2, 10);

interface Run {
  steps: number;
  buildMs: number;
  upMs: number;
  downMs: number;
  checks: string;
  connections: number[];
  load: number;
}

interface Machines {
  n: number;
  ssh: SshLab;
  dir: string;
}

const sec = (ms: number) => (ms / 1000).toFixed(1);

async function measure(m: Machines, round: number): Promise<Run> {
  const lab = `bl${randomBytes(2).toString('hex')}`;
  const state = ['--state-dir', join(m.dir, `state-${round}`)];
  const file = join(m.dir, `lab-${round}.yaml`);
  writeFileSync(file, chainRecipe({ lab, hosts: m.n, ssh: m.ssh, checks: `  - name: ends\n    ping: { from: g1, to: g${m.n}, count: 2 }` }));
  const before = await Promise.all(m.ssh.boxes.map(async (b) => (await m.ssh.acceptedConnections(b.name)).length));
  const load = loadavg()[0]!;
  try {
    const up = cliIn(m.ssh.clientNs, [...state, 'up', file, '--json'], 900_000);
    if (up.code !== 0) throw new Error(`up of ${m.n} hosts failed (${up.code}): ${up.stdout}\n${up.stderr}`);
    const out = JSON.parse(up.stdout) as { up: { applied: number; duration_ms: number }; checks: { status: string }[] };
    const after = await Promise.all(m.ssh.boxes.map(async (b) => (await m.ssh.acceptedConnections(b.name)).length));
    const down = cliIn(m.ssh.clientNs, [...state, 'down', lab, '--json'], 900_000);
    if (down.code !== 0) throw new Error(`down of ${m.n} hosts failed: ${down.stdout}\n${down.stderr}`);
    const run = { steps: out.up.applied, buildMs: out.up.duration_ms, upMs: up.ms, downMs: down.ms, checks: out.checks.map((c) => c.status).join(','), connections: after.map((a, i) => a - before[i]!), load };
    process.stderr.write(`${m.n} hosts, round ${round + 1}: up ${sec(run.upMs)} s (build ${sec(run.buildMs)} s), down ${sec(run.downMs)} s, load ${load.toFixed(1)}\n`);
    return run;
  } finally {
    cliIn(m.ssh.clientNs, [...state, 'down', lab]);
  }
}

const machines: Machines[] = [];
const runs = new Map<number, Run[]>(sizes.map((n) => [n, []]));
try {
  for (const n of sizes) machines.push({ n, ssh: await startSshLab(`bs${randomBytes(2).toString('hex')}`, n), dir: mkdtempSync(join(tmpdir(), 'gl-sshbench-')) });
  for (let r = 0; r < repeat; r++) for (const m of machines) runs.get(m.n)!.push(await measure(m, r));
} finally {
  for (const m of machines) {
    await m.ssh.teardown();
    rmSync(m.dir, { recursive: true, force: true });
  }
}

const rows = sizes.map((n) => {
  const rs = runs.get(n)!;
  const span = (f: (r: Run) => number) => `${sec(median(rs.map(f)))} s${rs.length > 1 ? ` (${sec(Math.min(...rs.map(f)))}–${sec(Math.max(...rs.map(f)))})` : ''}`;
  const conns = [...new Set(rs.flatMap((r) => r.connections))].join('/');
  const loads = rs.map((r) => r.load);
  return `| ${n} | ${rs[0]!.steps} | ${span((r) => r.buildMs)} | ${span((r) => r.upMs)} | ${span((r) => r.downMs)} | ${[...new Set(rs.map((r) => r.checks))].join(' ')} | ${conns} | ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} |`;
});
process.stdout.write(
  [
    `${new Date().toISOString()}, ${repeat} round(s), medians (min–max)`,
    '',
    '| SSH hosts | steps | build (engine) | `up` wall (incl. connect, discovery, ping check) | `down` wall | check | SSH connections per host during `up` | load avg (1 min) at starts |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n') + '\n',
);
if (sizes.length > 1) {
  const lo = Math.min(...sizes);
  const hi = Math.max(...sizes);
  const med = (n: number, f: (r: Run) => number) => median(runs.get(n)!.map(f));
  process.stdout.write(
    `\nper extra host (slope ${lo} → ${hi}): up ${sec((med(hi, (r) => r.upMs) - med(lo, (r) => r.upMs)) / (hi - lo))} s, build ${sec((med(hi, (r) => r.buildMs) - med(lo, (r) => r.buildMs)) / (hi - lo))} s, down ${sec((med(hi, (r) => r.downMs) - med(lo, (r) => r.downMs)) / (hi - lo))} s; up(${hi}) / up(${lo}) = ${(med(hi, (r) => r.upMs) / med(lo, (r) => r.upMs)).toFixed(2)}\n`,
  );
}
