/**
 * Small CLI contract items: global options accepted after the verb (and --json before it), and
 * `validate` printing warnings in text mode as `plan` does. Nothing here needs root or touches the system.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ct-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('--state-dir after the verb is the same option as before it', (t) => {
  const before = cli(['--state-dir', '/dev/null', 'gc']);
  const after = cli(['gc', '--state-dir', '/dev/null']);
  // Both reach the state-dir check (exit 2 "not a directory"; as non-root: exit 3 needs root first).
  t.is(after.code, before.code, after.stderr);
  t.is(after.stderr, before.stderr);
  if (process.getuid?.() === 0) t.regex(after.stderr, /--state-dir \/dev\/null: is not a directory/);
});

test('--backend after the verb is accepted, --json before the verb reaches it', (t) => {
  const v = cli(['validate', 'recipes/quickstart.yaml', '--backend', 'iproute2', '--state-dir', dir]);
  t.is(v.code, 0, v.stderr);
  const j = cli(['--json', 'validate', 'recipes/quickstart.yaml']);
  t.is(j.code, 0, j.stderr);
  t.like(JSON.parse(j.stdout), { schema: 'geneve-lab/validate/v1', ok: true });
});

test('validate prints warnings in text mode (a renamed >15-byte name), as plan does, and --json carries them', (t) => {
  const f = join(dir, 'long.yaml');
  writeFileSync(f, readFileSync(join(ROOT, 'recipes/quickstart.yaml'), 'utf8').replace(/\bsw1\b/g, 'a-very-long-switch-name').replace(/^lab: quickstart$/m, 'lab: ct-long'));
  const warning = /long\.yaml:\d+:\d+: warning: switches\[0\]\.name: interface name for switch "a-very-long-switch-name" is longer than 15 bytes; using "a-very-lon-[0-9a-f]{4}"/;
  const v = cli(['validate', f]);
  t.is(v.code, 0, v.stderr);
  t.regex(v.stderr, warning);
  t.regex(cli(['plan', f]).stderr, warning);
  const j = JSON.parse(cli(['validate', '--json', f]).stdout);
  t.is(j.warnings.length, 1);
  t.like(j.warnings[0], { severity: 'warning', path: 'switches[0].name' });
});
