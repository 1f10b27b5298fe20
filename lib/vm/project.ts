/** Locating this project's own files (bin/geneve-lab.js, the CLI's startup snapshot) from source or from dist/. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'geneve-lab') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the geneve-lab project root above ${from}`);
    dir = up;
  }
}

/** What `scripts/bundle.mjs --snapshot` writes next to the blob (`<blob>.json`, as below): which Node.js made it. */
export interface SnapshotInfo {
  node: string;
}

export const SNAPSHOT_BLOB = join('dist', 'geneve-lab.blob');
export const SNAPSHOT_INFO = `${SNAPSHOT_BLOB}.json`;

/**
 * Node.js options that start the CLI from its startup snapshot (cli/snapshot.ts), or undefined when
 * the snapshot cannot be trusted: absent, older than the compiled CLI (dist/cli/main.js, written
 * by tsc before the bundles; a later tsc run means the blob is stale), or made by another Node.js
 * (a blob only loads in the version that built it). Arguments follow the returned `--`.
 */
export function snapshotOptions(root = projectRoot(), nodeVersion = process.version): string[] | undefined {
  const mtime = (f: string) => statSync(join(root, f), { throwIfNoEntry: false })?.mtimeMs;
  const blob = mtime(SNAPSHOT_BLOB);
  const compiled = mtime(join('dist', 'cli', 'main.js'));
  if (blob === undefined || compiled === undefined || blob < compiled) return undefined;
  let info: Partial<SnapshotInfo>;
  try {
    info = JSON.parse(readFileSync(join(root, SNAPSHOT_INFO), 'utf8')) as Partial<SnapshotInfo>;
  } catch {
    return undefined;
  }
  return info.node === nodeVersion ? ['--snapshot-blob', join(root, SNAPSHOT_BLOB), '--'] : undefined;
}

/** The TUI (ink) is not in the snapshot build: these command lines keep the full CLI. */
const needsTui = (args: readonly string[]) => args.includes('tui') || args.includes('--tui');

/**
 * argv that runs geneve-lab itself (with the given arguments) inside the VM: from the startup
 * snapshot when it can be trusted — a TCG guest spends seconds evaluating the CLI's modules
 * otherwise (BENCHMARKS.md, target 4) — else bin/geneve-lab.js. The snapshot runs in this very
 * Node.js binary (the guest sees the host's files), the one its version was checked against.
 */
export function geneveLabArgv(args: readonly string[], root = projectRoot(), snapshot = needsTui(args) ? undefined : snapshotOptions(root)): string[] {
  return snapshot ? [process.execPath, ...snapshot, ...args] : ['node', join(root, 'bin', 'geneve-lab.js'), ...args];
}
