/**
 * The Vagrant tier (`npm run test:vagrant`, and part of `npm test`): the seed scenarios on two
 * real Vagrant boxes, with libvirt and Vagrant confined to a lab network namespace.
 *
 *   1. the offline box, from the cache or built (vagrant/box/build.ts);
 *   2. vagrant/ci.sh: lab namespace + private libvirtd, `vagrant up` of box-1 and box-2, the
 *      vagrant-* recipes through geneve-lab's SSH hosts, destroy — one TAP line per check of
 *      every recipe (from its JUnit file), plus the recipe's up/down;
 *   3. afterwards: the lab left nothing (no namespace, no process in it, no libvirt/qemu/dnsmasq
 *      process of its own, no work directory with volumes), and the root namespace (links,
 *      addresses, routes, iptables/nft, forwarding sysctls) is exactly as before;
 *   4. faults: a box that never becomes reachable (broken kernel command line) is reported
 *      with its console and everything is destroyed within the boot timeout; ci.sh killed with
 *      SIGTERM (its trap) and with SIGKILL (the lab's watchdog) still removes everything.
 *
 * Output: TAP lines that test/support/run-tests.js counts, and "# vagrant tier: N s". A machine
 * that cannot run it (not root, no qemu/libvirt/vagrant/mmdebstrap) gets one loud SKIP line —
 * counted as skipped, never as passed. Environment: GENEVE_LAB_SKIP_VAGRANT_TIER=1 skips it;
 * GL_VAGRANT_FAULTS=0 skips the fault tests (also loudly); GL_VAGRANT_KEEP_RESULTS=1 keeps the
 * results directory even when everything passed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureBox, type BoxInfo } from '../../vagrant/box/build.js';
import { missingPrograms } from '../../vagrant/lab/driver.js';
import { cmdline, processesInNetns } from '../../vagrant/lab/procs.js';
import { readState } from '../../vagrant/lab/state.js';
import { parseJunit } from './junit.js';
import { diffSnapshots, snapshotRootNs, type Snapshot } from './root-ns.js';

const ROOT = resolve(import.meta.dirname, '../..');
// vagrant-ipsec-gre: GRE over IPsec through the boxes' own openvswitch-ipsec (ci.sh starts it
// because the recipe has a psk); about 80 s of `up` plus ~17 s of service start on an idle machine.
const RECIPES = [
  'recipes/vagrant-ovs-geneve-vni.yaml',
  'recipes/vagrant-encapsulations.yaml',
  'recipes/vagrant-kernel-geneve.yaml',
  'recipes/vagrant-ipsec-gre.yaml',
];
const started = Date.now();
const secs = (ms: number) => Math.round(ms / 1000);

// ---------------------------------------------------------------- TAP
let n = 0;
let failures = 0;
function ok(title: string): void {
  process.stdout.write(`ok ${++n} - ${title}\n`);
}
function notOk(title: string, why: string): void {
  failures++;
  process.stdout.write(`not ok ${++n} - ${title}\n${why.trim() ? why.trim().split('\n').map((l) => `  # ${l}\n`).join('') : ''}`);
}
function check(cond: boolean, title: string, why = ''): boolean {
  if (cond) ok(title);
  else notOk(title, why);
  return cond;
}
function skip(title: string, why: string): void {
  process.stdout.write(`ok ${++n} - ${title} # SKIP ${why}\n`);
}
const note = (s: string) => process.stdout.write(`# ${s}\n`);

// ---------------------------------------------------------------- prerequisites
function cannotRun(): string | undefined {
  if (process.env.GENEVE_LAB_SKIP_VAGRANT_TIER) return 'GENEVE_LAB_SKIP_VAGRANT_TIER is set';
  if (process.getuid?.() !== 0) return 'not root (network namespaces, libvirtd, mmdebstrap need root)';
  const missing = missingPrograms();
  for (const [p, pkg] of [
    ['mmdebstrap', 'mmdebstrap'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['qemu-img', 'qemu-utils'],
  ] as const)
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).status !== 0) missing.push(`${p} (Debian: ${pkg})`);
  if (missing.length) return `missing ${missing.join(', ')}`;
  const plugins = spawnSync('vagrant', ['plugin', 'list'], { encoding: 'utf8', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  if (!/vagrant-libvirt/.test(plugins.stdout ?? '')) return 'the vagrant-libvirt plugin is not installed (Debian: vagrant-libvirt)';
  return undefined;
}

// ---------------------------------------------------------------- ci.sh runs
interface CiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  output: string;
  results: string;
  /** The lab as seen while it ran (read from its lab.json), for the "nothing left" checks. */
  lab?: { workdir: string; ns: string; nsInode?: number };
}

const ciEnv = (results: string, extra: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  GL_BOX: 'geneve-lab/debian12',
  GL_BOX_CPUS: '1',
  GL_BOX_MEMORY: '1024',
  GL_RESULTS_DIR: results,
  GL_RECIPES: RECIPES.join(' '),
  ...extra,
});

/**
 * Run vagrant/ci.sh, echoing its output (without progress bars) to stderr. `kill`, when given,
 * is called once the lab's domains are running and may send a signal to ci.sh.
 */
function runCi(results: string, extra: Record<string, string>, kill?: (pid: number) => void): Promise<CiRun> {
  mkdirSync(results, { recursive: true });
  const log = createWriteStream(join(results, 'ci.log'));
  const t0 = Date.now();
  const child = spawn('bash', [join(ROOT, 'vagrant/ci.sh')], { cwd: ROOT, env: ciEnv(results, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (b: Buffer) => {
    const text = b.toString().replace(/\x1b\[K/g, '\n');
    log.write(text);
    output += text;
    for (const l of text.split('\n')) if (l.trim() && !/^Progress: /.test(l)) process.stderr.write(`  | ${l}\n`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const run: CiRun = { code: null, signal: null, ms: 0, output: '', results };
  let killed = false;
  const poll = setInterval(() => {
    const env = join(results, 'lab.env');
    if (existsSync(env)) {
      const dir = /^LAB_WORKDIR=(.+)$/m.exec(readFileSync(env, 'utf8'))?.[1];
      const s = dir ? readState(dir) : undefined;
      if (s) run.lab = { workdir: s.workdir, ns: s.ns, ...(s.nsInode !== undefined ? { nsInode: s.nsInode } : {}) };
      // Domains are running once qemu has opened the serial console files.
      const consoles = s ? join(s.workdir, 'console') : undefined;
      if (kill && !killed && consoles && existsSync(consoles) && readdirSync(consoles).length > 0 && /Starting domain/.test(output)) {
        killed = true;
        kill(child.pid!);
      }
    }
  }, 500);
  return new Promise((res) => {
    child.on('close', (code, signal) => {
      clearInterval(poll);
      log.end();
      res({ ...run, code, signal, ms: Date.now() - t0, output });
    });
  });
}

/** Wait until `cond` or `ms` passed; true when it held. */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return cond();
}

/** What the lab left behind, in words (empty: nothing). */
function leftovers(lab: CiRun['lab']): string[] {
  if (!lab) return ['the lab was never seen (ci.sh did not create it?)'];
  const out: string[] = [];
  if (existsSync(lab.workdir)) out.push(`work directory ${lab.workdir} (with the lab's volumes) still exists`);
  if (existsSync(`/run/netns/${lab.ns}`)) out.push(`network namespace ${lab.ns} still exists`);
  if (lab.nsInode !== undefined)
    for (const p of processesInNetns(lab.nsInode)) out.push(`process ${p.pid} still runs in the lab namespace: ${cmdline(p.pid)}`);
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    const c = cmdline(Number(e));
    if (c.includes(lab.workdir) && !c.includes('tier.ts')) out.push(`process ${e} refers to the lab: ${c}`);
  }
  return out;
}

function checkClean(title: string, run: CiRun, before: Snapshot): void {
  const left = leftovers(run.lab);
  check(left.length === 0, `${title}: nothing of the lab is left (namespace, libvirt/qemu/dnsmasq processes, volumes)`, left.join('\n'));
  const diff = diffSnapshots(before, snapshotRootNs());
  check(diff.length === 0, `${title}: root namespace unchanged (links, addresses, routes, iptables/nft, forwarding sysctls)`, diff.join('\n'));
}

function reportScenarios(run: CiRun): void {
  const summary = existsSync(join(run.results, 'summary.txt')) ? readFileSync(join(run.results, 'summary.txt'), 'utf8') : '';
  for (const recipe of RECIPES) {
    const name = recipe.replace(/^recipes\//, '').replace(/\.yaml$/, '');
    const up = new RegExp(`from-host ${name} up exit=(\\d+)`).exec(summary);
    const down = new RegExp(`from-host ${name} down exit=(\\d+)`).exec(summary);
    if (!up) {
      notOk(`${name}: not run`, 'ci.sh stopped before this recipe (see the lines above)');
      continue;
    }
    const junit = join(run.results, `from-host-${name}.junit.xml`);
    const cases = existsSync(junit) ? parseJunit(readFileSync(junit, 'utf8')) : [];
    for (const c of cases)
      if (c.skipped) skip(`${name} › ${c.name}`, 'skipped by geneve-lab');
      else check(!c.failure, `${name} › ${c.name}`, c.failure ?? '');
    const upLog = join(run.results, `from-host-${name}.up.log`);
    check(up[1] === '0', `${name}: geneve-lab up (lab built, all checks passed)`, existsSync(upLog) ? readFileSync(upLog, 'utf8').split('\n').slice(-25).join('\n') : '');
    check(down?.[1] === '0', `${name}: geneve-lab down removed the lab from both boxes`);
  }
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const why = cannotRun();
  if (why) {
    process.stderr.write(`\n!!! VAGRANT TIER NOT RUN: ${why}\n`);
    skip('vagrant tier (two real boxes under libvirt in a lab namespace)', why);
    return;
  }
  const base = process.env.GL_VAGRANT_TIER_RESULTS ?? '/var/tmp/geneve-lab';
  mkdirSync(base, { recursive: true });
  const results = mkdtempSync(join(base, 'vagrant-tier-'));
  note(`results in ${results}`);

  // Labs of a run that was killed outright (a CI job ended, a crash) are removed first.
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'vagrant/lab/driver.ts'), 'gc'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });

  const before = snapshotRootNs();
  let box: BoxInfo;
  const tBox = Date.now();
  try {
    box = await ensureBox();
    ok(`offline box ready (${box.built ? `built in ${box.buildSeconds} s` : 'from the cache'}, key ${box.key}, ${box.packages} packages)${box.fallback ? ' [mirror unreachable: older cached box]' : ''}`);
  } catch (e) {
    notOk('offline box ready', (e as Error).message);
    return;
  }
  const boxMs = Date.now() - tBox;

  // 2. The scenarios.
  const main = await runCi(join(results, 'scenarios'), { GL_BOX_DIR: box.boxDir, GL_BOOT_TIMEOUT: '600' });
  const summary = existsSync(join(main.results, 'summary.txt')) ? readFileSync(join(main.results, 'summary.txt'), 'utf8') : '';
  const upSecs = /^vagrant up: (\d+) s/m.exec(summary)?.[1];
  check(upSecs !== undefined, `two boxes up and reachable over SSH${upSecs ? ` in ${upSecs} s` : ''}`, main.output.split('\n').slice(-30).join('\n'));
  reportScenarios(main);
  check(main.code === 0, `vagrant/ci.sh on two boxes exited 0 (took ${secs(main.ms)} s)`, `exit ${main.code ?? main.signal}; log: ${join(main.results, 'ci.log')}`);
  checkClean('after the scenarios', main, before);

  // 3. Faults.
  let faultMs = 0;
  if (process.env.GL_VAGRANT_FAULTS === '0') {
    process.stderr.write('\n!!! VAGRANT FAULT TESTS NOT RUN: GL_VAGRANT_FAULTS=0\n');
    for (const t of ['unreachable box', 'ci.sh killed with SIGTERM', 'ci.sh killed with SIGKILL']) skip(`fault: ${t}`, 'GL_VAGRANT_FAULTS=0');
  } else {
    const tf = Date.now();
    // A box whose kernel command line names a disk that does not exist: the initramfs says so on
    // the console and waits; the box never answers.
    const bootTimeout = 150;
    const bad = await runCi(join(results, 'unreachable'), { GL_BOX_DIR: box.boxDir, GL_BOXES: 'box-1', GL_BOX_KERNEL_ARGS: 'root=/dev/vdz', GL_BOOT_TIMEOUT: String(bootTimeout) });
    check(bad.code === 4, 'fault: a box that never becomes reachable fails the run (exit 4)', `exit ${bad.code ?? bad.signal}`);
    check(/did not become reachable over SSH within GL_BOOT_TIMEOUT=150 s/.test(bad.output), 'fault: the error names the boot timeout', bad.output.split('\n').slice(-20).join('\n'));
    check(/root device \/dev\/vdz did not appear/.test(bad.output), "fault: the error shows the box's console tail with the reason", bad.output.split('\n').slice(-30).join('\n'));
    // Within the boot timeout, plus what creating and destroying the lab take.
    check(bad.ms < (bootTimeout + 150) * 1000, `fault: done within the boot timeout plus set-up and clean-up (${secs(bad.ms)} s, timeout ${bootTimeout} s)`);
    checkClean('fault: unreachable box', bad, before);

    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      let killedAt = 0;
      const run = await runCi(join(results, `killed-${sig}`), { GL_BOX_DIR: box.boxDir, GL_BOOT_TIMEOUT: '600' }, (pid) => {
        killedAt = Date.now();
        process.kill(pid, sig);
      });
      check(killedAt > 0, `fault: ci.sh was killed with ${sig} while the boxes booted`, 'the boxes never started');
      // SIGKILL: ci.sh is gone at once; the watchdog notices within a second and cleans up.
      const gone = await waitFor(() => leftovers(run.lab).length === 0, 120_000);
      check(gone, `fault: after ${sig} to ci.sh the boxes, libvirt and the namespace are removed (${secs(Date.now() - killedAt)} s after the kill)`, leftovers(run.lab).join('\n'));
      checkClean(`fault: ${sig}`, run, before);
    }
    faultMs = Date.now() - tf;
  }

  const keep = failures > 0 || process.env.GL_VAGRANT_KEEP_RESULTS === '1';
  if (keep) note(`results and artifacts kept in ${results}`);
  else rmSync(results, { recursive: true, force: true });
  note(
    `vagrant tier: ${secs(Date.now() - started)} s (box ${secs(boxMs)} s, ci.sh with two boxes and ${RECIPES.length} recipes ${secs(main.ms)} s` +
      `${upSecs ? `, of it vagrant up ${upSecs} s` : ''}, faults ${secs(faultMs)} s)`,
  );
}

await main();
process.stdout.write(`1..${n}\n`);
process.exit(failures ? 1 : 0);
