/**
 * `geneve-lab graph --format mermaid` is valid Mermaid: the output for every recipe in recipes/
 * (plain, and with every check labelled by a verdict, which adds linkStyle lines) is parsed by
 * Mermaid's own parser — the `mermaid` package's parse(), run in Node on a jsdom window (it needs a
 * DOM only for DOMPurify; no browser, nothing rendered). The parser is shown to reject broken text
 * first, so a pass means something.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { JSDOM } from 'jsdom';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { labGraph } from '../../../lib/graph/model.js';
import { toMermaid } from '../../../lib/graph/render.js';
import type { CheckStatus } from '../../../lib/checks/result.js';
import { cli } from '../../support/cli.js';

// The DOM mermaid expects, before it is loaded (this file runs in its own process).
const { window } = new JSDOM('<!doctype html><html><body></body></html>');
Object.assign(globalThis, { window, document: window.document });
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

/** Mermaid's verdict: undefined when it parses as a flowchart, else the parser's message. */
async function parseError(text: string): Promise<string | undefined> {
  try {
    const r = await mermaid.parse(text);
    if (!r) return 'parse() returned false';
    return /^flowchart/.test(r.diagramType) ? undefined : `parsed as ${r.diagramType}, not a flowchart`;
  } catch (e) {
    return (e as Error).message;
  }
}

const recipes = readdirSync('recipes')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `recipes/${f}`);

test('the parser rejects broken Mermaid: an unclosed shape, an unescaped quote in a label, a linkStyle of a missing edge', async (t) => {
  t.is(await parseError('flowchart TB\n  a["one"] --- b(["two"])\n'), undefined, 'the well-formed control parses');
  t.truthy(await parseError('flowchart TB\n  a["one" --- b\n'));
  t.truthy(await parseError('flowchart TB\n  a["say "hi" there"] --- b\n'));
  t.truthy(await parseError('flowchart TB\n  a --- b\n  linkStyle 3 stroke:#c62828\n'));
});

test('graph --format mermaid of every recipe parses', async (t) => {
  t.true(recipes.length >= 20, `${recipes.length} recipes`);
  for (const file of recipes) {
    const lab = (await loadRecipeFile(file)).lab;
    const err = await parseError(toMermaid(labGraph(lab)));
    t.is(err, undefined, `${file}: ${err}`);
    // Every check with a verdict: labels with ✔/✘ and a linkStyle per check edge.
    const statuses: CheckStatus[] = ['passed', 'failed', 'error', 'skipped'];
    const verdicts = new Map(lab.checks.map((c, i): [string, CheckStatus] => [c.name, statuses[i % statuses.length]!]));
    const withVerdicts = toMermaid(labGraph(lab, verdicts));
    const err2 = await parseError(withVerdicts);
    t.is(err2, undefined, `${file} with verdicts: ${err2}`);
  }
});

test('the CLI prints exactly that text (checked here on the quickstart)', async (t) => {
  const r = cli(['graph', 'recipes/quickstart.yaml', '--format', 'mermaid']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, toMermaid(labGraph((await loadRecipeFile('recipes/quickstart.yaml')).lab)));
  t.is(await parseError(r.stdout), undefined);
});
