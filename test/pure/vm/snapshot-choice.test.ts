/**
 * When `geneve-lab vm -- …` starts the guest's CLI from the startup snapshot (lib/vm/project.ts)
 * and when it keeps bin/geneve-lab.js: a stale, foreign or absent blob must never be used (a blob
 * only loads in the Node.js that built it; an old one would run old code).
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { geneveLabArgv, snapshotOptions } from '../../../lib/vm/project.js';

/** A fake project root: dist/cli/main.js at t=1000 s, the blob and its info at `blobAt`. */
function project(opts: { blobAt?: number; info?: string | null } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'gl-snapshot-choice-'));
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(root, 'dist', 'cli', 'main.js'), '');
  utimesSync(join(root, 'dist', 'cli', 'main.js'), 1000, 1000);
  if (opts.blobAt !== undefined) {
    writeFileSync(join(root, 'dist', 'geneve-lab.blob'), 'blob');
    utimesSync(join(root, 'dist', 'geneve-lab.blob'), opts.blobAt, opts.blobAt);
  }
  const info = opts.info === undefined ? JSON.stringify({ node: 'v24.0.0' }) : opts.info;
  if (info !== null) writeFileSync(join(root, 'dist', 'geneve-lab.blob.json'), info);
  return root;
}

test('a blob newer than the compiled CLI, made by this Node.js, is used with -- before the arguments', (t) => {
  const root = project({ blobAt: 2000 });
  t.deepEqual(snapshotOptions(root, 'v24.0.0'), ['--snapshot-blob', join(root, 'dist', 'geneve-lab.blob'), '--']);
  rmSync(root, { recursive: true });
});

test('a blob older than the compiled CLI (tsc ran after the bundles) is stale: not used', (t) => {
  const root = project({ blobAt: 500 });
  t.is(snapshotOptions(root, 'v24.0.0'), undefined);
  rmSync(root, { recursive: true });
});

test('a blob made by another Node.js version is not used', (t) => {
  const root = project({ blobAt: 2000 });
  t.is(snapshotOptions(root, 'v22.12.0'), undefined);
  rmSync(root, { recursive: true });
});

test('no blob, no info file, or an unreadable info file: not used', (t) => {
  for (const [what, root] of [
    ['no blob', project()],
    ['no info', project({ blobAt: 2000, info: null })],
    ['garbled info', project({ blobAt: 2000, info: '{"node":' })],
    ['info without a version', project({ blobAt: 2000, info: '{}' })],
  ] as const) {
    t.is(snapshotOptions(root, 'v24.0.0'), undefined, what);
    rmSync(root, { recursive: true });
  }
});

test('geneveLabArgv: the snapshot runs in this Node.js binary; without one, node bin/geneve-lab.js', (t) => {
  const snap = ['--snapshot-blob', '/p/dist/geneve-lab.blob', '--'];
  t.deepEqual(geneveLabArgv(['run', 'r.yaml'], '/p', snap), [process.execPath, ...snap, 'run', 'r.yaml']);
  t.deepEqual(geneveLabArgv(['run', 'r.yaml'], '/p', undefined), ['node', '/p/bin/geneve-lab.js', 'run', 'r.yaml']);
});

test('geneveLabArgv: the TUI (not in the snapshot build) keeps bin/geneve-lab.js even with a fresh blob', (t) => {
  const root = project({ blobAt: 2000, info: JSON.stringify({ node: process.version }) });
  t.is(geneveLabArgv(['run', 'r.yaml'], root)[1], '--snapshot-blob', 'precondition: the fresh blob is chosen');
  t.deepEqual(geneveLabArgv(['tui', 'r.yaml'], root), ['node', join(root, 'bin', 'geneve-lab.js'), 'tui', 'r.yaml']);
  t.deepEqual(geneveLabArgv(['up', '--tui', 'r.yaml'], root), ['node', join(root, 'bin', 'geneve-lab.js'), 'up', '--tui', 'r.yaml']);
  rmSync(root, { recursive: true });
});
