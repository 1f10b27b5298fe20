/**
 * Cross-field (semantic) rules on the parts of a recipe that parsed, when other parts did not.
 *
 * load.ts first drops invalid tunables (an out-of-range VNI) and re-runs the rules on the rest.
 * When a structural field is wrong (an address, a name, a kind, a misspelt `addresses`), that is
 * unsafe: the rules would judge a different lab. Here the list ELEMENTS holding such problems are
 * set aside instead (a host with a bad address, a switch with an unknown kind), the rules run on
 * every other element, and what they find is reported too — mapped back to the element's real
 * position — except what only follows from the elements set aside (a reference to a switch that
 * was set aside is not "unknown"). So a recipe with mistakes of both kinds reports all of them
 * in one run.
 */
import type { z } from 'zod';
import type { Problem } from '../errors.js';
import { didYouMean, Locator, formatPath, type Path } from './locate.js';
import { UNKNOWN_KEYS, type RawRecipe } from './schema.js';
import { analyze } from './semantic.js';

const SECTIONS = ['networks', 'hosts', 'switches', 'guests', 'tunnels', 'checks'] as const;
type Section = (typeof SECTIONS)[number];

/** A Locator for the recipe with elements set aside: paths of the remaining elements point at their original place. */
class RemappedLocator extends Locator {
  constructor(
    private readonly inner: Locator,
    private readonly remap: Map<string, number[]>,
  ) {
    super(inner.file, undefined, undefined);
  }
  private original(path: Path): Path {
    const [section, index, ...rest] = path;
    if (typeof section !== 'string' || typeof index !== 'number') return path;
    const map = this.remap.get(section);
    return map ? [section, map[index] ?? index, ...rest] : path;
  }
  override position(path: Path, at: 'value' | 'key' = 'value') {
    return this.inner.position(this.original(path), at);
  }
  override problem(path: Path, message: string, severity: 'error' | 'warning' = 'error', at: 'value' | 'key' = 'value'): Problem {
    const p = this.original(path);
    return { file: this.file, ...this.inner.position(p, at), path: formatPath(p), message, severity };
  }
}

type SafeParse = (tree: unknown) => { success: true; data: RawRecipe } | { success: false };

/**
 * The semantic problems of the sound parts of `tree` (see the module comment), or none when the
 * recipe's overall shape is broken (a whole section, the lab name, defaults or variables).
 */
export function partialAnalysis(
  tree: unknown,
  issues: readonly z.core.$ZodIssue[],
  loc: Locator,
  structural: ReadonlySet<string>,
  already: readonly Problem[],
  parse: SafeParse,
): Problem[] {
  if (!tree || typeof tree !== 'object') return [];
  const copy = structuredClone(tree) as Record<string, unknown>;
  const setAside = new Map<Section, Set<number>>();
  for (const iss of issues) {
    const path = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
    const [section, index] = path;
    if (!SECTIONS.includes(section as Section) || typeof index !== 'number') return []; // the shape itself is wrong
    const elementLevel = path.length === 2;
    const keyOf = (k: string) => (iss.code === 'unrecognized_keys' && iss.message.startsWith(UNKNOWN_KEYS) ? didYouMean(k, iss.message.slice(UNKNOWN_KEYS.length).split(',')) ?? k : k);
    const touchesStructure =
      elementLevel ||
      path.some((p) => typeof p === 'string' && structural.has(p) && p !== section) ||
      (iss.code === 'unrecognized_keys' && iss.keys.some((k) => structural.has(keyOf(k)))) ||
      (iss.code === 'invalid_type' && (iss as { input?: unknown }).input === undefined);
    if (touchesStructure) {
      if (!setAside.has(section as Section)) setAside.set(section as Section, new Set());
      setAside.get(section as Section)!.add(index);
      continue;
    }
    // A tunable: drop just that field (or unknown key), as load.ts's pruning does.
    if (iss.code === 'unrecognized_keys') for (const k of iss.keys) removeAt(copy, [...path, k]);
    else removeAt(copy, path);
  }
  if (!setAside.size) return [];
  const remap = new Map<string, number[]>();
  const dropped = new Set<string>();
  let unnamed = false;
  for (const section of SECTIONS) {
    const list = copy[section];
    if (!Array.isArray(list)) continue;
    const aside = setAside.get(section) ?? new Set<number>();
    const kept: unknown[] = [];
    const map: number[] = [];
    list.forEach((el, i) => {
      if (aside.has(i)) {
        const name = (el as { name?: unknown } | null)?.name;
        // An invalid name (Box_2) says nothing about what the references meant to call it.
        if (typeof name === 'string' && /^[a-z][a-z0-9-]*$/.test(name)) dropped.add(name);
        else unnamed = true;
        return;
      }
      kept.push(el);
      map.push(i);
    });
    copy[section] = kept;
    remap.set(section, map);
  }
  const parsed = parse(copy);
  if (!parsed.success) return [];
  const { problems } = analyze(parsed.data, new RemappedLocator(loc, remap));
  const reported = new Set(already.map((p) => p.path));
  return problems.filter((p) => {
    if (reported.has(p.path)) return false;
    // A reference to something set aside is not unknown, it is broken where it is defined.
    const names = [...p.message.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    if (/unknown|is a |not both attached|has no |have no /.test(p.message) && (unnamed || names.some((n) => dropped.has(n)))) return false;
    return true;
  });
}

function removeAt(tree: Record<string, unknown>, path: (string | number)[]): void {
  let node: unknown = tree;
  for (const seg of path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  if (node && typeof node === 'object') delete (node as Record<string | number, unknown>)[path[path.length - 1]!];
}
