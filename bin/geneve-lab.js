#!/usr/bin/env node
// Entry point. `npm run build` makes two runnable forms of the CLI in dist/: the tsc output
// (dist/cli/main.js) and the same program bundled (dist/geneve-lab.mjs plus the chunks it loads
// on demand, dist/geneve-lab.chunk-*.mjs, by scripts/bundle.mjs), which starts much faster where
// opening files is slow (the TCG VM: ~1000 modules over 9p). The bundle is used unless tsc has written dist/ since it was made.
import { existsSync, statSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node keeps the compiled code of the modules on disk (in $NODE_COMPILE_CACHE, else the OS's temp
// directory) and reuses it on the next start: compiling the CLI's code was most of a start.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

const main = new URL('../dist/cli/main.js', import.meta.url);
const bundle = new URL('../dist/geneve-lab.mjs', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('geneve-lab: not built yet — run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(3);
}
const mtime = (u) => statSync(fileURLToPath(u), { throwIfNoEntry: false })?.mtimeMs ?? -1;
await import((mtime(bundle) >= mtime(main) ? bundle : main).href);
