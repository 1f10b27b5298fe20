/**
 * Recipe loading: file → text → YAML document (with positions) → variables → defaults → schema
 * → semantic rules → Lab. Every stage collects all of its problems; the first stage with errors
 * throws one RecipeError carrying them all. Nothing here lets a raw exception reach the user.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, visit } from 'yaml';
import type { z } from 'zod';
import { RecipeError, type Problem } from '../errors.js';
import type { Lab } from '../model/types.js';
import { Locator, didYouMean, formatPath } from './locate.js';
import { defaultsSchema, recipeSchema, show, UNKNOWN_KEYS, type RawRecipe } from './schema.js';
import { collectVariables, substituteVariables } from './variables.js';
import { applyDefaults } from './defaults.js';
import { analyze } from './semantic.js';
import { resolveLab } from './resolve.js';
import { aliasProblem, nestingProblem, sizeProblem, utf8Problem } from './limits.js';
import { partialAnalysis } from './partial.js';
import { analyzeSteps } from './semantic-steps.js';
import { resolveSteps } from './resolve-steps.js';

export interface LoadedRecipe {
  lab: Lab;
  warnings: Problem[];
}

const fileProblem = (file: string, message: string, line = 0, column = 0): Problem => ({ file, line, column, path: '', message, severity: 'error' });

export async function loadRecipeFile(file: string): Promise<LoadedRecipe> {
  const abs = resolvePath(file);
  let bytes: Buffer;
  try {
    const st = await stat(abs);
    if (st.isDirectory()) throw new RecipeError([fileProblem(abs, 'is a directory; give the path of a recipe file (.yaml)')]);
    if (!st.isFile()) throw new RecipeError([fileProblem(abs, 'is not a regular file; give the path of a recipe file (.yaml)')]);
    // Refused before reading: a huge file must not cost seconds and gigabytes to reject.
    const tooBig = sizeProblem(abs, st.size);
    if (tooBig) throw new RecipeError([tooBig]);
    bytes = await readFile(abs);
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file; check the path (recipes/ has examples)' : code === 'EACCES' ? 'permission denied; make the file readable' : `cannot be read (${code ?? (e as Error).message})`;
    throw new RecipeError([fileProblem(abs, why)]);
  }
  return loadRecipeBytes(bytes, abs);
}

export function loadRecipeText(text: string, file: string): LoadedRecipe {
  return loadRecipeBytes(Buffer.from(text, 'utf8'), resolvePath(file), text);
}

function loadRecipeBytes(bytes: Buffer, file: string, text?: string): LoadedRecipe {
  try {
    return loadRecipeChecked(bytes, file, text);
  } catch (e) {
    // Any recursion the limits did not foresee still ends as our message, never an internal one.
    if (e instanceof RangeError) throw new RecipeError([fileProblem(file, 'is nested too deeply to be read (a recipe needs about 6 levels); this is not a recipe')]);
    throw e;
  }
}

function loadRecipeChecked(bytes: Buffer, file: string, text?: string): LoadedRecipe {
  const tooBig = sizeProblem(file, bytes.length);
  if (tooBig) throw new RecipeError([tooBig]);
  if (text === undefined) {
    const bad = utf8Problem(file, bytes);
    if (bad) throw new RecipeError([bad]);
    text = new TextDecoder('utf-8').decode(bytes);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const before = text.slice(0, nul);
    const line = before.split('\n').length;
    throw new RecipeError([fileProblem(file, 'contains NUL bytes (binary data?); a recipe is a YAML text file', line, nul - before.lastIndexOf('\n'))]);
  }
  // Line by line, not one regular expression: /^(\s*#.*\n?)*\s*$/ backtracked exponentially on a
  // long comment header followed by YAML (15 s for recipes/inject-malformed-geneve.yaml).
  if (text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#')))
    throw new RecipeError([fileProblem(file, 'is empty; a recipe needs at least "lab: NAME" (see docs/recipes.md)')]);

  const deep = nestingProblem(file, text);
  if (deep) throw new RecipeError([deep]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length) {
    // The first syntax error is the one worth reading; later ones are usually consequences.
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    if (e.code === 'MULTIPLE_DOCS')
      throw new RecipeError([fileProblem(file, 'a second YAML document starts here (---); a recipe is one document: put each lab in a file of its own', pos.line, pos.col)]);
    const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new RecipeError([fileProblem(file, `malformed YAML: ${msg}`, pos.line, pos.col)]);
  }
  const bomb = aliasProblem(file, doc, lines);
  if (bomb) throw new RecipeError([bomb]);
  const loc = new Locator(file, doc, lines);
  if (!isMap(doc.contents)) {
    const what = isScalar(doc.contents) ? `a single value (${show(doc.contents.value)})` : 'a list';
    throw new RecipeError([loc.problem([], `the recipe is ${what}; it must be a map starting with "lab: NAME"`)]);
  }
  // A map key that is itself a list or map cannot name a field (and `yaml` would only warn).
  const badKeys: Problem[] = [];
  visit(doc, {
    Pair: (_k, pair) => {
      if (pair.key !== null && !isScalar(pair.key)) {
        const at = (pair.key as { range?: [number, number] }).range?.[0] ?? 0;
        const pos = lines.linePos(at);
        badKeys.push(fileProblem(file, 'a key must be a plain name, not a list or map', pos.line, pos.col));
      }
    },
  });
  if (badKeys.length) throw new RecipeError(badKeys);
  let tree: unknown;
  try {
    // Alias expansion was bounded by aliasProblem (with a position); no second, unlocated limit here.
    tree = doc.toJS({ maxAliasCount: -1 });
  } catch (e) {
    const m = (e as Error).message;
    throw new RecipeError([
      fileProblem(file, /excessive alias/i.test(m) ? 'aliases (*name) expand too much; refused as an alias bomb (use an alias only for a value you repeat)' : `cannot be read as data: ${m}`),
    ]);
  }

  const problems: Problem[] = [];
  tree = substituteVariables(tree, collectVariables(tree), loc, problems);
  const top = tree as Record<string, unknown>;
  // Merge defaults only when they are valid, so their mistakes are reported once (in defaults:).
  const d = defaultsSchema.safeParse(top.defaults ?? {}, { reportInput: true });
  const merged = d.success ? applyDefaults(top, top.defaults as Record<string, unknown> | undefined) : top;
  let parsed = recipeSchema.safeParse(merged, { reportInput: true, error: genericMessage });
  const varPaths = new Set(problems.map((p) => p.path));
  if (!parsed.success) {
    const issues = parsed.error.issues;
    problems.push(...issuesToProblems(issues, loc).filter((p) => !varPaths.has(p.path)));
    // To report ALL problems at once, drop the invalid tunables and run the cross-field rules on
    // the rest. When a structural field (names, references, addresses) is invalid, cross-field
    // results would be consequences of it, so only the schema problems are reported.
    const pruned = pruneInvalid(merged, issues);
    if (pruned) parsed = recipeSchema.safeParse(pruned, { reportInput: true, error: genericMessage });
    if (!pruned || !parsed.success) {
      // Still report the cross-field problems of the parts that are sound (partial.ts).
      problems.push(...partialAnalysis(merged, issues, loc, STRUCTURAL, problems, (t) => recipeSchema.safeParse(t, { reportInput: true, error: genericMessage })));
      throw new RecipeError(sortProblems(problems));
    }
  }
  const raw: RawRecipe = parsed.data;
  const analysis = analyze(raw, loc);
  problems.push(...analysis.problems);
  const stepsAnalysis = analyzeSteps(raw, analysis, loc);
  problems.push(...stepsAnalysis.problems);
  if (problems.some((p) => p.severity === 'error')) throw new RecipeError(sortProblems(problems));
  const { lab, problems: resolveProblems } = resolveLab(raw, analysis, loc, file);
  const resolvedSteps = resolveSteps(raw, stepsAnalysis, lab, loc, file);
  lab.steps = resolvedSteps.steps;
  resolveProblems.push(...resolvedSteps.problems);
  if (resolveProblems.some((p) => p.severity === 'error')) throw new RecipeError(sortProblems(resolveProblems));
  return { lab, warnings: resolveProblems.filter((p) => p.severity === 'warning') };
}

/** Fields whose removal would change names, references or addresses (and so other rules' results). */
const STRUCTURAL = new Set(['lab', 'name', 'between', 'host', 'switch', 'network', 'networks', 'addresses', 'interfaces', 'ipv4', 'ipv6', 'from', 'to', 'family', 'type', 'kind', 'during', 'hosts', 'switches', 'guests', 'tunnels', 'checks', 'variables', 'defaults', 'impl']);

/** A copy of `tree` without the fields the issues point at, or undefined when that is unsafe. */
function pruneInvalid(tree: unknown, issues: z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(tree) as Record<string, unknown>;
  for (const iss of issues) {
    const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (iss.code === 'unrecognized_keys') {
      // A misspelt section or reference key would make every later rule complain about its absence.
      const allowed = iss.message.startsWith(UNKNOWN_KEYS) ? iss.message.slice(UNKNOWN_KEYS.length).split(',') : [];
      if (path.length === 0 || iss.keys.some((k) => STRUCTURAL.has(didYouMean(k, allowed) ?? ''))) return undefined;
      for (const k of iss.keys) removeAt(copy, [...path, k]);
      continue;
    }
    // The deepest map key on the path: a list element cannot be removed without renumbering.
    let last = -1;
    path.forEach((p, i) => typeof p === 'string' && (last = i));
    if (last < 1 || iss.code === 'invalid_type' && (iss as { input?: unknown }).input === undefined) return undefined;
    const key = path[last] as string;
    if (STRUCTURAL.has(key) || path.slice(0, last).some((p) => p === 'defaults')) return undefined;
    removeAt(copy, path.slice(0, last + 1));
  }
  return copy;
}

function removeAt(tree: Record<string, unknown>, path: (string | number)[]): void {
  let node: unknown = tree;
  for (const seg of path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  if (node && typeof node === 'object') delete (node as Record<string | number, unknown>)[path[path.length - 1]!];
}

function sortProblems(ps: Problem[]): Problem[] {
  return [...ps].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Messages for issues whose schema has no custom message: type mismatches and missing keys. */
function genericMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code === 'invalid_type') {
    const field = iss.path?.length ? String(iss.path[iss.path.length - 1]) : '';
    if (iss.input === undefined) return `missing required field${field ? ` "${field}"` : ''}`;
    const want = { object: 'a map', array: 'a list', string: 'text', number: 'a number', int: 'an integer', boolean: 'true or false' }[iss.expected as string] ?? iss.expected;
    return `${show(iss.input)} is not valid here; expected ${want}`;
  }
  if (iss.code === 'invalid_value') return `${show(iss.input)} is not allowed; use one of: ${iss.values.map(String).join(', ')}`;
  if (iss.code === 'too_small' && iss.origin === 'array') return `the list needs at least ${String(iss.minimum)} item(s)`;
  return undefined;
}

function issuesToProblems(issues: z.core.$ZodIssue[], loc: Locator): Problem[] {
  const out: Problem[] = [];
  for (const iss of issues) {
    const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(UNKNOWN_KEYS)) {
      const allowed = iss.message.slice(UNKNOWN_KEYS.length).split(',');
      for (const key of iss.keys) {
        const near = didYouMean(key, allowed);
        const where = path.length ? `here` : 'at the top level';
        out.push(loc.problem([...path, key], near ? `unknown key "${key}"; did you mean "${near}"?` : `unknown key "${key}"; allowed ${where}: ${allowed.join(', ')}`, 'error', 'key'));
      }
      continue;
    }
    if (iss.code === 'invalid_type' && (iss as { input?: unknown }).input === undefined) {
      // Missing key: point at the map that should hold it.
      const field = path[path.length - 1];
      const msg = typeof field === 'string' ? `missing required field "${field}"` : 'missing value';
      out.push({ ...loc.problem(path.slice(0, -1), msg), path: formatPath(path) });
      continue;
    }
    out.push(loc.problem(path, iss.message));
  }
  return out;
}

