/**
 * Scale benchmark (issue 3): in ONE run, time `up` and `down` of a generated lab of N guests
 * (bench/scale-recipe.ts) with
 *   - the netlink backend through the engine (what `geneve-lab --backend netlink up` does),
 *   - the iproute2 backend (batched) through the engine,
 *   - a hand-written `ip -batch` script doing the same kernel work (no engine, no state, no
 *     checks of ownership): the practical floor for a tool that drives iproute2 processes,
 * for N = 50, 200, 1000 (or --sizes), and print a markdown table.
 *
 * Each measurement runs in its own child process, so peak RSS (getrusage maxrss) belongs to
 * that measurement alone: for the engine runs it is the Node process; for the ip-batch script
 * it is the largest `ip` child. Every lab is removed after its measurement, even when it fails
 * or the run is interrupted.
 *
 *   sudo npm run bench                       # N = 50, 200, 1000
 *   sudo npm run bench -- --sizes 50,200     # fewer sizes
 *   sudo npm run bench -- --sizes 200 --modes netlink,ip-batch --repeat 3   # quick iteration
 *
 * With --repeat R every (N, mode) is measured R times (interleaved) and each row shows the
 * median, with min–max of the ratios, so one noisy run on a shared machine does not decide.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { scaleLayout, scaleRecipe, scaleBatchScript } from './scale-recipe.js';
import { median } from './stats.js';

type Mode = 'netlink' | 'iproute2' | 'ip-batch';
const MODES: Mode[] = ['netlink', 'iproute2', 'ip-batch'];

interface Measurement {
  mode: Mode;
  n: number;
  namespaces: number;
  upMs: number;
  downMs: number;
  /** KiB: the measuring Node process (engine runs) or its largest child (ip-batch). */
  /** Peak RSS of the measuring Node process once up finished (maxrss is monotonic). */
  upMaxRssKiB: number;
  selfMaxRssKiB: number;
  childMaxRssKiB: number;
}

// ---- helpers shared by parent and worker -------------------------------------------------

function labNamespaces(lab: string): string[] {
  // stderr ignored: `ip netns list` complains about namespaces that vanish while it reads them
  const out = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const list: { name: string }[] = out ? JSON.parse(out) : [];
  return list.map((n) => n.name).filter((n) => n.startsWith(`gl-${lab}-`));
}

/** Remove every namespace of the lab (one `ip -batch` process; the "already gone" ones are fine). */
function removeLab(lab: string): void {
  const left = labNamespaces(lab);
  if (!left.length) return;
  spawnSync('ip', ['-force', '-batch', '-'], { input: left.map((n) => `netns del ${n}`).join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
}

/** getrusage(RUSAGE_CHILDREN).ru_maxrss in KiB: the largest waited-for child (Node does not expose it). */
function childrenMaxRssKiB(): number {
  const koffi = createRequire(import.meta.url)('koffi');
  const getrusage = koffi.load('libc.so.6').func('int getrusage(int, _Out_ void *)');
  const buf = Buffer.alloc(256);
  if (getrusage(-1 /* RUSAGE_CHILDREN */, buf) !== 0) return NaN;
  return Number(buf.readBigInt64LE(32)); // after ru_utime and ru_stime (2 × struct timeval)
}

function runIp(args: string[], input: string): void {
  const r = spawnSync('ip', args, { input, encoding: 'utf8', stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
}

// ---- worker: one mode, one N ---------------------------------------------------------------

async function worker(mode: Mode, n: number, lab: string, stateDir: string): Promise<Measurement> {
  const layout = scaleLayout(lab, n);
  const expected = 1 + layout.hosts.length + layout.guests.length;
  let upMs: number;
  let downMs: number;
  let upMaxRssKiB: number;
  if (mode === 'ip-batch') {
    const script = scaleBatchScript(layout);
    const t0 = performance.now();
    runIp(['-batch', '-'], script.root);
    for (const { ns, input } of script.perNamespace) runIp(['-n', ns, '-batch', '-'], input);
    upMs = performance.now() - t0;
    upMaxRssKiB = childrenMaxRssKiB();
    verifyUp(lab, expected);
    const t1 = performance.now();
    runIp(['-batch', '-'], script.down);
    downMs = performance.now() - t1;
  } else {
    // Loaded only in engine workers, so the ip-batch worker's numbers do not include them.
    const [{ loadRecipeText }, { Engine }, { StateStore }, { LocalExecutor }, { createIproute2Backend }, { createNetlinkBackend }] = await Promise.all([
      import('../lib/recipe/load.js'),
      import('../lib/engine/engine.js'),
      import('../lib/engine/state.js'),
      import('../lib/exec/executor.js'),
      import('../lib/backends/iproute2/index.js'),
      import('../lib/backends/netlink/index.js'),
    ]);
    const exec = new LocalExecutor();
    // `up` and `down` each get a backend and engine of their own, as two CLI commands would
    // (nothing cached from up, e.g. netlink sockets, helps down); only Node start-up is left out.
    const newEngine = async () => {
      const backend = mode !== 'iproute2' ? await createNetlinkBackend({ exec }) : createIproute2Backend(exec, { batch: true });
      return { backend, engine: new Engine({ exec, backend, store: new StateStore(stateDir) }) };
    };
    const { lab: model } = loadRecipeText(scaleRecipe(layout), `${lab}.yaml`);
    const t0 = performance.now();
    const forUp = await newEngine();
    try {
      await forUp.engine.up(model);
    } finally {
      await forUp.backend.close();
    }
    upMs = performance.now() - t0;
    upMaxRssKiB = process.resourceUsage().maxRSS;
    verifyUp(lab, expected);
    const t1 = performance.now();
    const forDown = await newEngine();
    try {
      const down = await forDown.engine.down(lab);
      if (down.failures.length) throw new Error(`down reported failures: ${JSON.stringify(down.failures.slice(0, 3))}`);
    } finally {
      await forDown.backend.close();
    }
    downMs = performance.now() - t1;
  }
  const left = labNamespaces(lab);
  if (left.length) throw new Error(`${mode}: down left ${left.length} namespaces (e.g. ${left[0]})`);
  return { mode, n, namespaces: expected, upMs, downMs, upMaxRssKiB, selfMaxRssKiB: process.resourceUsage().maxRSS, childMaxRssKiB: childrenMaxRssKiB() };
}


/** The work really happened: every namespace exists and a guest has its address on eth0. */
function verifyUp(lab: string, expected: number): void {
  const got = labNamespaces(lab).length;
  if (got !== expected) throw new Error(`expected ${expected} lab namespaces after up, found ${got}`);
  const last = labNamespaces(lab).filter((n) => /-g\d+$/.test(n)).sort().at(-1)!;
  const addrs = JSON.parse(execFileSync('ip', ['-n', last, '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }));
  if (!addrs[0]?.addr_info?.some((a: { scope: string }) => a.scope === 'global')) throw new Error(`${last}: eth0 has no address after up`);
}

// ---- parent: run every (N, mode) in its own child, clean up, print the table --------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lab being measured, so an interrupted run can still remove it. */
let current: { lab: string; stateDir: string; child?: ChildProcess } | undefined;

function cleanup(): void {
  if (!current) return;
  removeLab(current.lab);
  rmSync(current.stateDir, { recursive: true, force: true });
  current = undefined;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    if (process.argv[2] === '--worker') process.exit(130); // the parent cleans up
    process.stderr.write(`bench: ${sig}: stopping the measurement and removing the lab under test\n`);
    const child = current?.child;
    // The worker must be gone before we list what it created, or it could add more after.
    const gone = child && child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
    child?.kill('SIGKILL');
    void gone.then(() => {
      cleanup();
      process.exit(130);
    });
  });

/** Live network namespaces in the kernel, named or not, including ones still being destroyed. */
function liveNetns(): number {
  const m = /^net_namespace\s+(\d+)/m.exec(readFileSync('/proc/slabinfo', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * Namespace teardown finishes asynchronously in the kernel (cleanup_net), after `ip netns
 * del` or our down returned. Wait until the kernel is back to where it was before the
 * measurement (with a little slack for other users of the machine), so one measurement's
 * teardown does not slow down the next one.
 */
async function kernelSettled(before: number): Promise<void> {
  const until = Date.now() + 60_000;
  let last = liveNetns();
  let lastDrop = Date.now();
  // Done when back to the earlier count, or when the count has stopped falling for 1.5 s
  // (other users of the machine may hold namespaces of their own).
  while (Date.now() < until && last > before + 5 && Date.now() - lastDrop < 1500) {
    await sleep(250);
    const now = liveNetns();
    if (now < last) lastDrop = Date.now();
    last = now;
  }
  if (process.env.BENCH_DEBUG) process.stderr.write(`settled: ${liveNetns()} live namespaces (before: ${before})\n`);
  await sleep(500);
}

async function measure(mode: Mode, n: number): Promise<Measurement> {
  const before = liveNetns();
  const lab = `bn${randomBytes(3).toString('hex')}`;
  const self = fileURLToPath(import.meta.url);
  current = { lab, stateDir: mkdtempSync(join(tmpdir(), 'gl-bench-')) };
  try {
    const child = spawn(process.execPath, [...process.execArgv, self, '--worker', mode, String(n), lab, current.stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    current.child = child;
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const code: number = await new Promise((r) => child.on('exit', (c, sig) => r(c ?? (sig ? 128 : 1))));
    if (code !== 0) throw new Error(`${mode} N=${n}: worker exited with ${code}`);
    return JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
  } finally {
    cleanup();
    await kernelSettled(before);
  }
}

const fmtS = (ms: number) => (ms / 1000).toFixed(2);
const fmtMB = (kib: number) => (kib / 1024).toFixed(0);


/**
 * One row per (N, mode): medians over the repeats; a ratio to ip-batch is taken per repeat
 * (the floor measured next to it) and shown as its median, with min–max when repeated.
 */
function table(rows: (Measurement & { rep: number })[], modes: Mode[]): string {
  const lines = [
    '| N guests | namespaces | run | up (s) | down (s) | up ÷ ip-batch | down ÷ ip-batch | peak RSS during up (MB) | peak RSS up+down (MB) |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  const ratio = (xs: number[]) => {
    if (!xs.length) return '–';
    const m = median(xs).toFixed(2);
    return xs.length > 1 ? `${m} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : m;
  };
  for (const n of [...new Set(rows.map((r) => r.n))])
    for (const mode of modes) {
      const mine = rows.filter((r) => r.n === n && r.mode === mode);
      if (!mine.length) continue;
      const floorOf = (r: { rep: number }) => rows.find((x) => x.n === n && x.mode === 'ip-batch' && x.rep === r.rep);
      const upR = mine.flatMap((r) => (floorOf(r) ? [r.upMs / floorOf(r)!.upMs] : []));
      const downR = mine.flatMap((r) => (floorOf(r) ? [r.downMs / floorOf(r)!.downMs] : []));
      const maxOf = (f: (r: Measurement) => number) => Math.max(...mine.map(f));
      const rss =
        mode === 'ip-batch'
          ? [`${fmtMB(maxOf((r) => r.upMaxRssKiB))} (largest ip)`, `${fmtMB(maxOf((r) => r.childMaxRssKiB))} (largest ip)`]
          : [fmtMB(maxOf((r) => r.upMaxRssKiB)), fmtMB(maxOf((r) => r.selfMaxRssKiB))];
      lines.push(
        `| ${n} | ${mine[0]!.namespaces} | ${mode} | ${fmtS(median(mine.map((r) => r.upMs)))} | ${fmtS(median(mine.map((r) => r.downMs)))} | ${ratio(upR)} | ${ratio(downR)} | ${rss[0]} | ${rss[1]} |`,
      );
    }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') {
    const m = await worker(args[1] as Mode, Number(args[2]), args[3]!, args[4]!);
    process.stdout.write(JSON.stringify(m) + '\n');
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/scale.ts needs root (it creates namespaces): run it with sudo\n');
    process.exit(1);
  }
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (opt('--sizes') ?? '50,200,1000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes wants positive integers, e.g. --sizes 50,200,1000`);
  const modes = (opt('--modes') ?? MODES.join(',')).split(',') as Mode[];
  if (modes.some((m) => !MODES.includes(m))) throw new Error(`--modes takes a comma-separated subset of ${MODES.join(',')}`);
  const repeat = Number(opt('--repeat') ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat wants a positive integer');
  const rows: (Measurement & { rep: number })[] = [];
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
  for (const n of sizes)
    for (let rep = 1; rep <= repeat; rep++)
      for (const mode of modes) {
        process.stderr.write(`… ${mode} N=${n}${repeat > 1 ? ` (run ${rep}/${repeat})` : ''}, load ${loadavg()[0]!.toFixed(1)}\n`);
        rows.push({ ...(await measure(mode, n)), rep });
      }
  const env = `node ${process.version}, kernel ${release()}, ${availableParallelism()} CPUs, load average ${loadBefore} before / ${loadavg().map((x) => x.toFixed(1)).join(' ')} after`;
  process.stdout.write(`\n${env}\n\n${table(rows, modes)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(1);
});
