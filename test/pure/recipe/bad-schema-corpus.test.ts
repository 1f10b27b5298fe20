/**
 * The recipe JSON Schema is as strict as `validate` wherever a schema can say it: every recipe
 * in test/fixtures/recipes/bad-schema/ is rejected by BOTH ajv (with the schema `geneve-lab schema`
 * publishes) and `validate`; and the schema never rejects a recipe `validate` accepts (every
 * example recipe and valid fixture). Rules only `validate` can check are listed in docs/recipes.md.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { RecipeError } from '../../../lib/errors.js';
import { schemaValidator } from '../../support/ajv.js';
import { cli, ROOT } from '../../support/cli.js';

const CORPUS = join(ROOT, 'test/fixtures/recipes/bad-schema');
const schemaErrors = schemaValidator(recipeJsonSchema());

/** What `validate` says about a file: its error problems, or [] when it accepts it. */
async function validateErrors(file: string): Promise<string[]> {
  try {
    await loadRecipeFile(file);
    return [];
  } catch (e) {
    if (!(e instanceof RecipeError)) throw e;
    return e.problems.filter((p) => p.severity === 'error').map((p) => `${p.path}: ${p.message}`);
  }
}

const corpus = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();

test('the corpus covers the rules the issue names', (t) => {
  for (const rule of ['lab-name-pattern', 'lab-name-length', 'guest-address-syntax', 'host-ipv4-is-ipv6', 'max-loss-format', 'tos-ecn-bits', 'check-two-kinds', 'check-no-kind', 'capture-expect-key', 'guest-mac-multicast', 'tunnel-type-enum', 'unknown-tunnel-key', 'variable-name'])
    t.true(corpus.includes(`${rule}.yaml`), rule);
});

for (const f of corpus) {
  test(`bad-schema/${f}: rejected by ajv with the published schema and by validate`, async (t) => {
    const file = join(CORPUS, f);
    const fromSchema = schemaErrors(parse(readFileSync(file, 'utf8')));
    t.truthy(fromSchema, 'ajv accepted it');
    const fromValidate = await validateErrors(file);
    t.true(fromValidate.length > 0, 'validate accepted it');
    t.log(`ajv: ${fromSchema?.split('\n')[0]}\nvalidate: ${fromValidate[0]}`);
  });
}

test('the schema `geneve-lab schema` prints is the one tested here', (t) => {
  const r = cli(['schema']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), recipeJsonSchema());
});

test('never stricter than validate: every recipe validate accepts (examples, docs, fixtures) passes the schema', async (t) => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(f)) files.push(p);
    }
  };
  for (const d of ['recipes', 'docs', 'test/fixtures/recipes']) walk(join(ROOT, d));
  let accepted = 0;
  for (const f of files) {
    if ((await validateErrors(f).catch(() => ['unreadable'])).length) continue;
    accepted++;
    t.is(schemaErrors(parse(readFileSync(f, 'utf8'))), undefined, f);
  }
  t.true(accepted >= 20, `${accepted} valid recipes found`);
});
