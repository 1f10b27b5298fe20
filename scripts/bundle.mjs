#!/usr/bin/env node
// Bundles for slow machines (part of `npm run build`, after tsc):
//   dist/geneve-lab.mjs           the CLI (bin/geneve-lab.js prefers it), with its lazily loaded
//                                 parts in dist/geneve-lab.chunk-*.mjs;
//   dist/geneve-lab.blob          the CLI as a V8 startup snapshot (cli/snapshot.ts), from one
//                                 CommonJS bundle (dist/geneve-lab.snapshot.cjs): what `vm` runs
//                                 inside the TCG guest, where evaluating the modules took seconds;
//   dist/vm-tests/**.test.mjs     each kernel-tier test file (test/vm/**/*.test.ts) in one file,
//                                 run by ava inside the VM (test/support/run-tests.js --inner).
// Why: inside the TCG VM every file Node opens goes over 9p and every module costs resolution
// and compilation; the CLI alone loads ~1000 modules (≈14 s per start there), and tsx
// transpiled each test file's whole import graph afresh in every ava worker.
// Native addons (koffi, netlink) and ava stay external; node_modules is found next to dist/.
//
// Two things tsc keeps but a bundle would change are rewritten per source file:
//  - `import(new URL(P, import.meta.url).href)` (lazy/optional modules): the relative module
//    literals of that file that exist as sources are bundled too, behind a lookup by P; other
//    paths still go to the file system at run time (an optional module that is absent stays absent);
//  - every other `import.meta.url` becomes the URL the source file would have relative to the
//    bundle (so paths such as ../../bin or createRequire keep resolving as in the sources).
// Usage: node scripts/bundle.mjs [--cli] [--snapshot] [--vm-tests] [--out DIR]   (default: all three, in dist/)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
// --out DIR: the CLI bundle elsewhere (test/pure/cli/lazy-load.test.ts checks a fresh one).
const dist = args.includes('--out') ? resolve(args[args.indexOf('--out') + 1]) : join(root, 'dist');
const EXTERNAL = ['koffi', 'netlink', 'ava'];
const LAZY_IMPORT = /import\(\s*new URL\(\s*([^()]+?)\s*,\s*import\.meta\.url\s*\)\.href\s*\)/g;

/** The source file a relative `.js` specifier means (tsc's nodenext convention), if it exists. */
function sourceFor(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec).replace(/\.js$/, '');
  return ['.ts', '.tsx', '.js'].map((e) => base + e).find((f) => existsSync(f));
}

/** esbuild plugin: the per-file rewrites described above, for project sources only. */
function keepSourceUrls(outDirOf) {
  return {
    name: 'keep-source-urls',
    setup(b) {
      b.onLoad({ filter: /\.(ts|tsx)$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        let text = readFileSync(args.path, 'utf8');
        const ownUrl = `new URL(${JSON.stringify(relative(outDirOf(args.path), args.path))}, import.meta.url).href`;
        if (text.search(LAZY_IMPORT) >= 0) {
          const lazy = new Map();
          for (const [, spec] of text.matchAll(/['"](\.\.?\/[^'"\s]+\.js)['"]/g)) if (sourceFor(args.path, spec)) lazy.set(spec, spec);
          const table = [...lazy.keys()].map((s) => `${JSON.stringify(s)}: () => import(${JSON.stringify(s)})`).join(', ');
          text = text.replace(LAZY_IMPORT, (_m, p) => `__glLazy(${p})`).replace(/import\.meta\.url/g, ownUrl);
          text += `\nfunction __glLazy(p: string): Promise<any> { const t: Record<string, () => Promise<any>> = { ${table} }; return t[p] ? t[p]() : import(new URL(p, ${ownUrl}).href); }\n`;
        } else {
          text = text.replace(/import\.meta\.url/g, ownUrl);
        }
        return { contents: text, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
      });
    },
  };
}

/**
 * ink imports react-devtools-core (not installed) from a module it loads only when DEV=true; an
 * external import would be hoisted and fail every start, so that path fails when taken, as before.
 */
const absentOptional = {
  name: 'absent-optional',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, (a) => ({ path: a.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (a) => ({ contents: `throw new Error(${JSON.stringify(`${a.path} is not installed`)});`, loader: 'js' }));
  },
};

/** The snapshot build's stand-in for the TUI's modules: loading one fails with where the TUI is. */
const withoutTui = {
  name: 'without-tui',
  setup(b) {
    b.onResolve({ filter: /^(ink|react|react\/jsx-runtime|ink-[a-z-]+)$/ }, (a) => ({ path: a.path, namespace: 'no-tui' }));
    b.onLoad({ filter: /.*/, namespace: 'no-tui' }, () => ({
      contents: `throw new Error('the TUI is not part of the startup snapshot build; run it with bin/geneve-lab.js');`,
      loader: 'js',
    }));
  },
};

function common(outDirOf) {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: EXTERNAL,
    absWorkingDir: root,
    tsconfig: join(root, 'tsconfig.json'),
    sourcemap: true,
    logLevel: 'warning',
    // CommonJS dependencies call require() for Node built-ins.
    banner: { js: "import { createRequire as __glCreateRequire } from 'node:module'; const require = __glCreateRequire(import.meta.url);" },
    plugins: [keepSourceUrls(outDirOf), absentOptional],
  };
}

function vmTestFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.test\.tsx?$/.test(f))
    .map((f) => join(dir, f))
    .sort();
}

/** Where the bundle of test/vm/a/b.test.ts goes: dist/vm-tests/a/b.test.mjs. */
export function vmTestBundle(testFile) {
  return join(dist, 'vm-tests', relative(join(root, 'test', 'vm'), testFile)).replace(/\.tsx?$/, '.mjs');
}

const want = (f) => args.length === 0 || args.includes(f);

if (want('--cli')) {
  // Split at the CLI's dynamic imports (cli/main.ts loads each command module on demand): a start
  // compiles the entry and the chunks its verb needs, and only the TUI's chunk holds ink/React.
  // Chunks sit next to the entry (dist/), so the import.meta.url rewrites above hold for them too.
  for (const f of existsSync(dist) ? readdirSync(dist) : []) if (/^geneve-lab\.chunk-.*\.mjs(\.map)?$/.test(f)) rmSync(join(dist, f), { force: true });
  await build({
    ...common(() => dist),
    entryPoints: [{ in: join(root, 'cli', 'main.ts'), out: 'geneve-lab' }],
    outdir: dist,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'geneve-lab.chunk-[hash]',
  });
}

if (want('--snapshot')) {
  // The CLI as one CommonJS file evaluated into a V8 startup snapshot (cli/snapshot.ts says why).
  // A snapshot's entry may require() only Node's built-ins: everything else is bundled, koffi is
  // loaded at run time through createRequire, and the TUI (ink has top-level await, which a
  // CommonJS bundle cannot hold) is replaced by a module that says where the TUI is.
  const cjs = join(dist, 'geneve-lab.snapshot.cjs');
  const blob = join(dist, 'geneve-lab.blob');
  const base = common(() => dist);
  await build({
    ...base,
    format: 'cjs',
    banner: { js: "var __glMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__glMetaUrl' },
    plugins: [withoutTui, ...base.plugins],
    entryPoints: [join(root, 'cli', 'snapshot.ts')],
    outfile: cjs,
    sourcemap: false,
    // The TUI's imports from the stand-in are undefined by design (that code never runs here).
    logOverride: { 'import-is-undefined': 'silent' },
  });
  rmSync(blob, { force: true });
  rmSync(`${blob}.json`, { force: true });
  // --no-warnings: Node warns that child_process, tty and module are "not yet fully verified" in
  // snapshots; none of them is used at build time (only imported), which is what it warns about.
  const r = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', blob, '--build-snapshot', cjs], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`building the startup snapshot ${blob} failed (exit ${r.status ?? r.signal})`);
  // lib/vm/project.ts uses the blob only with the Node.js that made it.
  writeFileSync(`${blob}.json`, JSON.stringify({ node: process.version }) + '\n');
}

if (want('--vm-tests')) {
  const out = join(dist, 'vm-tests');
  const tests = vmTestFiles(join(root, 'test', 'vm'));
  const inputs = {};
  // One build per file keeps each bundle's import.meta.url rewrites relative to its own directory.
  await Promise.all(
    tests.map(async (t) => {
      const outfile = vmTestBundle(t);
      const r = await build({ ...common(() => dirname(outfile)), entryPoints: [t], outfile, metafile: true });
      inputs[relative(root, outfile)] = Object.keys(r.metafile.inputs).filter((i) => !i.includes('node_modules/'));
    }),
  );
  // Read by run-tests.js --inner: a bundle older than one of its sources is not used.
  writeFileSync(join(out, 'manifest.json'), JSON.stringify({ builtAt: Date.now(), bundles: inputs }, null, 1) + '\n');
  // Bundles of test files that no longer exist go (not the whole directory: a VM may be reading it).
  const keep = new Set(Object.keys(inputs).flatMap((f) => [join(root, f), join(root, f) + '.map']));
  for (const f of readdirSync(out, { recursive: true }).map((x) => join(out, String(x)))) {
    if (/\.test\.mjs(\.map)?$/.test(f) && !keep.has(f)) rmSync(f, { force: true });
  }
}
