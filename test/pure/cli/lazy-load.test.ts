/**
 * A CLI start loads only what its verb needs (cli/lazy-verbs.ts, issue 19): `--version`,
 * `validate` and the other non-TUI verbs must not load ink or React (the TUI's ~500 modules were
 * most of every start). Checked on the sources (module graph) and on a fresh bundle
 * (scripts/bundle.mjs splits it so ink/React sit in a chunk only `tui` loads).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { ROOT } from '../../support/cli.js';
import { verbOf } from '../../../cli/lazy-verbs.js';

const HOOK = join(ROOT, 'test', 'support', 'record-loads.mjs');
const QUICKSTART = join(ROOT, 'recipes', 'quickstart.yaml');
const TUI_PACKAGES = /\/node_modules\/(ink|react|react-reconciler|ink-spinner|yoga-layout)\//;
/** esbuild heads each bundled module with a `// node_modules/ink/build/…` comment. */
const TUI_IN_BUNDLE = /^\/\/ node_modules\/(ink|react|react-reconciler|ink-spinner|yoga-layout)\//m;

/** Run the CLI (argv after node) with the recorder; the URLs of the modules it loaded. */
function loads(cliArgv: string[], args: string[]): { code: number | null; stdout: string; loaded: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'gl-loads-'));
  try {
    const file = join(dir, 'loaded');
    const r = spawnSync(process.execPath, ['--import', HOOK, ...cliArgv, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, GENEVE_LAB_RECORD_LOADS: file, NODE_DISABLE_COMPILE_CACHE: '1' },
      timeout: 120_000,
    });
    let loaded: string[] = [];
    try {
      loaded = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      /* nothing recorded: the assertions below say so */
    }
    return { code: r.status, stdout: r.stdout, loaded };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SOURCES = ['--import', 'tsx', join(ROOT, 'cli', 'main.ts')];

for (const args of [['--version'], ['validate', QUICKSTART], ['--help']]) {
  test(`sources: \`${args.join(' ').replace(ROOT + '/', '')}\` loads no ink/React`, (t) => {
    const r = loads(SOURCES, args);
    t.is(r.code, 0);
    t.true(r.loaded.some((u) => u.endsWith('/cli/main.ts')), 'the recorder saw the CLI load');
    t.deepEqual(r.loaded.filter((u) => TUI_PACKAGES.test(u)), []);
  });
}

test('sources: `--version` loads no command module; `validate` neither the engine nor the backends', (t) => {
  const v = loads(SOURCES, ['--version']);
  t.deepEqual(v.loaded.filter((u) => u.includes('/cli/commands/')), []);
  const r = loads(SOURCES, ['validate', QUICKSTART]);
  t.true(r.loaded.some((u) => u.endsWith('/cli/commands/recipe.ts')));
  t.deepEqual(r.loaded.filter((u) => /\/lib\/engine\/engine\.ts|\/lib\/backends\/(netlink|iproute2)\/|\/cli\/commands\/(lab|tui)/.test(u)), []);
});

test('sources: the recorder does see ink when the TUI module is loaded (the check above can fail)', (t) => {
  // `tui --help` registers the tui command only; the app itself loads on use. Loading the
  // screen module directly shows the recorder catches ink/React.
  const r = loads(['--import', 'tsx', '-e', `await import(${JSON.stringify(join(ROOT, 'cli', 'commands', 'tui.ts'))}).then((m) => m.loadTui())`, '--input-type=module'], []);
  t.is(r.code, 0);
  t.true(r.loaded.some((u) => /\/node_modules\/ink\//.test(u)));
});

test('bundle: `--version` and `validate` load no chunk holding ink/React; ink/React sit in a chunk of their own', (t) => {
  // Inside the checkout (node_modules must resolve from the bundle), apart from the real dist/.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const out = mkdtempSync(join(ROOT, 'dist', '.bundle-test-'));
  try {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), '--cli', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    t.is(b.status, 0, b.stderr);
    const holdsTui = (url: string) => TUI_IN_BUNDLE.test(readFileSync(fileURLToPath(url), 'utf8'));
    const entry = join(out, 'geneve-lab.mjs');
    const version = loads([entry], ['--version']);
    t.regex(version.stdout, /^\d+\.\d+\.\d+/);
    for (const args of [['--version'], ['validate', QUICKSTART], ['schema'], ['status', '--help'], ['--help']]) {
      const r = loads([entry], args);
      t.is(r.code, 0, args.join(' '));
      const chunks = r.loaded.filter((u) => u.startsWith('file://' + out));
      t.true(chunks.length > 0, 'the recorder saw the bundle load');
      t.deepEqual(chunks.filter(holdsTui), [], args.join(' '));
    }
    // ink/React are in the bundle (a chunk of their own, loaded by the TUI only): the check above can fail.
    t.true(readdirSync(out).some((f) => f.endsWith('.mjs') && holdsTui(pathToFileURL(join(out, f)).href)));
    t.true(readFileSync(entry, 'utf8').length < 500_000, 'the entry chunk is small');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('verbOf skips the program options and their values', (t) => {
  const p = new Command().option('--backend <name>').option('--state-dir <dir>').option('--flag');
  t.is(verbOf(['up', 'x.yaml'], p), 'up');
  t.is(verbOf(['--state-dir', '/tmp/s', 'down', 'lab'], p), 'down');
  t.is(verbOf(['--state-dir=/tmp/s', '--flag', 'status'], p), 'status');
  t.is(verbOf(['--backend', 'iproute2', '--version'], p), undefined);
  t.is(verbOf(['--', 'validate'], p), 'validate');
  t.is(verbOf([], p), undefined);
});

test('each command module registers exactly the verbs cli/verbs.ts lists for it', async (t) => {
  const { verbModules } = await import('../../../cli/verbs.js');
  const wiring = { run: async () => {}, globals: () => ({}) };
  const all: string[] = [];
  for (const m of verbModules) {
    // As cli/main.ts makes it (vm's pass-through needs positional options).
    const program = new Command().enablePositionalOptions();
    await m.register(program, wiring);
    t.deepEqual(program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort(), [...m.verbs].sort());
    all.push(...m.verbs);
  }
  t.is(new Set(all).size, all.length, 'a verb belongs to one module');
});
