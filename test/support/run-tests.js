#!/usr/bin/env node
// The whole test suite, as the README and CI run it (as root for the privileged tiers):
//   1. type check + build (tsc) — counted as one test;
//   2. the host tiers (test/pure, test/priv) with ava;
//   3. the kernel tier (test/vm) inside ONE disposable VM boot (`geneve-lab vm --exec`),
//      because this machine's kernel may lack geneve, gre, netem, openvswitch.
// Every ava run uses the TAP reporter; results are echoed and counted, and the output ends
// with the line CI reads: "N passed, N failed[, N skipped]". Exit code 1 when anything
// failed or nothing ran. Options: --tier pure|priv|vm (repeatable), -- extra ava args.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readdirSync } from 'node:fs';
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
  if (code === 0) {
    count.passed++;
    process.stdout.write('ok - typecheck and build (tsc)\n');
  }
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
  await runTap(AVA[0], [AVA[1], '--tap', '--timeout', '20m', ...extra], 'ava (vm tier)');
} else {
  if (hostGlobs.length) await runTap(AVA[0], [AVA[1], '--tap', ...hostGlobs, ...extra], 'ava (host tiers)');
  if (want('vm') && hasTests(`${root}/test/vm`)) {
    if (process.env.GENEVE_LAB_SKIP_VM_TIER) {
      process.stdout.write('\n!!! KERNEL (VM) TIER NOT RUN: GENEVE_LAB_SKIP_VM_TIER is set\n');
      count.skipped++;
    } else {
      await runTap(
        'node',
        ['bin/geneve-lab.js', 'vm', '--timeout', '3000', '--exec', '--', 'node', 'test/support/run-tests.js', '--inner', '--', 'test/vm/**/*.test.ts'],
        'kernel tier in the VM',
      );
    }
  }
}

const skipped = count.skipped ? `, ${count.skipped} skipped` : '';
process.stdout.write(`\n${count.passed} passed, ${count.failed} failed${skipped}\n`);
process.exit(count.failed > 0 || count.passed === 0 ? 1 : 0);
