#!/usr/bin/env node
// The whole test suite, as the README and CI run it (as root for the privileged tiers):
//   1. type check + build (tsc) — counted as one test;
//   2. the host tiers (test/pure, test/priv) with ava;
//   3. the kernel tier (test/vm) inside ONE disposable VM boot (`geneve-lab vm --exec`),
//      because this machine's kernel may lack geneve, gre, netem, openvswitch;
//   4. the Vagrant tier (test/vagrant/tier.ts): two real boxes, the seed scenarios across them.
// Every ava run uses the TAP reporter; results are echoed and counted, and the output ends
// with the line CI reads: "N passed, N failed[, N skipped]". Exit code 1 when anything
// failed or nothing ran. Options: --tier pure|priv|vm|vagrant (repeatable), -- extra ava args.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, globSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const argv = process.argv.slice(2);
const tiers = [];
for (let i = 0; i < argv.length; i++) if (argv[i] === '--tier') tiers.push(argv[++i]);
const want = (t) => tiers.length === 0 || tiers.includes(t);
const inner = argv.includes('--inner'); // running inside the VM: no build, no nested VM

const count = { passed: 0, failed: 0, skipped: 0 };

// CLI tests run the compiled CLI that the type check below has just built (see test/support/cli.ts).
process.env.GENEVE_LAB_TEST_CLI ??= 'dist';
// Inside the VM every Node start is slow under TCG: keep V8's compiled code between starts.
if (inner) process.env.NODE_COMPILE_CACHE ??= '/tmp/geneve-lab-node-compile-cache';

function runTap(cmd, args, label) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const before = { ...count };
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      process.stdout.write(line + '\n');
      if (/^not ok \d+/.test(line)) {
        if (!/# TODO/.test(line)) count.failed++;
      } else if (/^ok \d+/.test(line)) {
        if (/# SKIP/.test(line)) count.skipped++;
        else count.passed++;
      }
    });
    child.on('close', (code) => {
      rl.close();
      // A runner can fail outside any test (a file that did not load, a VM that did not boot).
      if (code !== 0 && count.failed === before.failed) {
        count.failed++;
        process.stdout.write(`not ok - ${label} exited with code ${code} outside any test\n`);
      }
      resolve(code);
    });
  });
}

function hasTests(dir) {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true }).some((f) => /\.test\.tsx?$/.test(String(f)));
}

if (!inner) {
  const code = await runTap(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], 'typecheck');
  // The one-file CLI and the VM tier's test bundles (what `npm run build` makes after tsc).
  const bundled = await runTap(process.execPath, [`${root}/scripts/bundle.mjs`], 'bundle (esbuild)');
  if (code === 0 && bundled === 0) {
    count.passed++;
    process.stdout.write('ok - typecheck and build (tsc, esbuild bundles)\n');
  }
}

/**
 * Inside the VM: which of the named kernel-tier test files can run from their prebuilt bundles
 * (test/vm/x.test.ts → dist/vm-tests/x.test.mjs, made by `npm run build`) and which must run from
 * the TypeScript sources through tsx (correct, much slower): a bundle that is missing or older
 * than one of the files it was built from is not used, and the reason is printed.
 */
function splitVmFiles(args) {
  const isFile = (a) => /^(\.\/)?test\/vm\/.*\.tsx?$/.test(a);
  const rest = args.filter((a) => !isFile(a));
  const patterns = args.filter(isFile).map((a) => a.replace(/^\.\//, ''));
  const files = [...new Set(patterns.flatMap((p) => globSync(p, { cwd: root })))].sort();
  // Nothing named (or nothing matched): leave it all to ava, which says what is wrong.
  if (files.length === 0) return { rest: args, bundled: [], sources: [] };
  const manifestFile = `${root}/dist/vm-tests/manifest.json`;
  const bundles = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')).bundles : {};
  const mtime = (f) => statSync(`${root}/${f}`, { throwIfNoEntry: false })?.mtimeMs;
  const staleness = (bundle) => {
    const inputs = bundles[bundle];
    const built = mtime(bundle);
    if (!inputs || built === undefined) return `${bundle} was not built`;
    for (const input of inputs) {
      const m = mtime(input);
      if (m === undefined) return `${input}, bundled into ${bundle}, no longer exists`;
      if (m > built) return `${input} changed after ${bundle} was built`;
    }
    return undefined;
  };
  const bundled = [];
  const sources = [];
  for (const f of files) {
    const bundle = f.replace(/^test\/vm\//, 'dist/vm-tests/').replace(/\.tsx?$/, '.mjs');
    const why = staleness(bundle);
    if (why) {
      process.stderr.write(`\n!!! kernel tier: ${f} runs from its TypeScript source through tsx (much slower): ${why}; run \`npm run build\` first\n`);
      sources.push(f);
    } else bundled.push(bundle);
  }
  return { rest, bundled, sources };
}

const hostGlobs = [];
if (want('pure')) hostGlobs.push('test/pure/**/*.test.ts', 'test/pure/**/*.test.tsx');
if (want('priv')) hostGlobs.push('test/priv/**/*.test.ts', 'test/priv/**/*.test.tsx');
const extra = argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : [];
// ava's CLI through this node directly: `npx` costs seconds per start, minutes in a TCG VM.
const AVA = [process.execPath, `${root}/node_modules/ava/entrypoints/cli.js`];
if (inner) {
  // Under TCG on a loaded host one CLI start takes a minute or more, so a test making several
  // can go past ava's 5-minute inactivity timeout (whose TAP report then crashes ava itself).
  const { rest, bundled, sources } = splitVmFiles(extra);
  if (bundled.length) {
    const config = ['--config', 'test/support/ava-vm.config.mjs'];
    await runTap(AVA[0], [AVA[1], '--tap', '--timeout', '20m', ...config, ...rest, ...bundled], 'ava (vm tier, bundles)');
  }
  if (sources.length || !bundled.length) await runTap(AVA[0], [AVA[1], '--tap', '--timeout', '20m', ...rest, ...sources], 'ava (vm tier)');
} else {
  if (hostGlobs.length) await runTap(AVA[0], [AVA[1], '--tap', ...hostGlobs, ...extra], 'ava (host tiers)');
  if (want('vm') && hasTests(`${root}/test/vm`)) {
    if (process.env.GENEVE_LAB_SKIP_VM_TIER) {
      process.stdout.write('\n!!! KERNEL (VM) TIER NOT RUN: GENEVE_LAB_SKIP_VM_TIER is set\n');
      count.skipped++;
    } else {
      const vmStart = Date.now();
      await runTap(
        'node',
        ['bin/geneve-lab.js', 'vm', '--timeout', '3000', '--exec', '--', 'node', 'test/support/run-tests.js', '--inner', '--', 'test/vm/**/*.test.ts'],
        'kernel tier in the VM',
      );
      // Its budget is 15 minutes in CI (BENCHMARKS.md): print the figure every run.
      process.stdout.write(`# kernel tier (VM, boot included): ${Math.round((Date.now() - vmStart) / 1000)} s\n`);
    }
  }
}

// The Vagrant tier: two real boxes under libvirt confined to a lab namespace (test/vagrant/tier.ts).
// It prints its own TAP lines (one SKIP line, loudly, where the machine cannot run it).
if (!inner && want('vagrant')) {
  const vagrantStart = Date.now();
  await runTap(process.execPath, ['--import', 'tsx', 'test/vagrant/tier.ts'], 'vagrant tier');
  process.stdout.write(`# vagrant tier (box, two boxes up, scenarios, faults, destroy): ${Math.round((Date.now() - vagrantStart) / 1000)} s\n`);
}

const skipped = count.skipped ? `, ${count.skipped} skipped` : '';
process.stdout.write(`\n${count.passed} passed, ${count.failed} failed${skipped}\n`);
process.exit(count.failed > 0 || count.passed === 0 ? 1 : 0);
