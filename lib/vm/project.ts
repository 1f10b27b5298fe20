/** Locating this project's own files (bin/geneve-lab.js) from source or from dist/. */
import { existsSync, readFileSync } from 'node:fs';
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

/** argv that runs geneve-lab itself (with the given arguments) inside the VM. */
export function geneveLabArgv(args: readonly string[], root = projectRoot()): string[] {
  return ['node', join(root, 'bin', 'geneve-lab.js'), ...args];
}
