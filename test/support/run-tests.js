#!/usr/bin/env node
// Runs the whole ava suite with the TAP reporter, echoes it, and ends with the one line CI
// reads: "N passed, N failed[, N skipped]". The exit code is non-zero when anything failed
// or when no test ran at all.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = ['ava', '--tap', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0, failed = 0, skipped = 0, todo = 0;
const rl = createInterface({ input: child.stdout });
rl.on('line', (line) => {
  process.stdout.write(line + '\n');
  if (/^not ok \d+/.test(line)) {
    if (/# TODO/.test(line)) todo++;
    else failed++;
  } else if (/^ok \d+/.test(line)) {
    if (/# SKIP/.test(line)) skipped++;
    else passed++;
  }
});
child.on('close', (code) => {
  rl.close();
  // ava can fail outside any test (uncaught exception, timeout, a file that did not load).
  if (code !== 0 && failed === 0) failed = 1;
  const extra = skipped ? `, ${skipped} skipped` : '';
  process.stdout.write(`\n${passed} passed, ${failed} failed${extra}\n`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
});
