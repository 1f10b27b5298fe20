/**
 * "${name}" substitution over the parsed YAML tree, before validation. A string that is exactly
 * "${name}" takes the variable's value and type (so `vni: ${vni}` stays a number); otherwise the
 * value is spliced into the string. Unknown variables are reported where they are used.
 */
import type { Problem } from '../errors.js';
import { suggest, type Locator, type Path } from './locate.js';

const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const ANY = /\$\{([^}]*)\}/g;

export type Scalar = string | number | boolean;

export function substituteVariables(tree: unknown, vars: Record<string, Scalar>, loc: Locator, problems: Problem[]): unknown {
  const names = Object.keys(vars);
  const unknown = (name: string, path: Path) =>
    problems.push(
      loc.problem(
        path,
        `unknown variable "\${${name}}"${suggest(name, names)}; ${names.length ? `defined variables: ${names.join(', ')}` : 'define it under "variables:"'}`,
      ),
    );
  const walk = (v: unknown, path: Path): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) {
        const name = whole[1]!;
        if (name in vars) return vars[name];
        unknown(name, path);
        return v;
      }
      return v.replace(ANY, (m, name: string) => {
        if (Object.hasOwn(vars, name)) return String(vars[name]);
        unknown(name, path);
        return m;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = path.length === 0 && k === 'variables' ? x : walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return walk(tree, []);
}

/** The usable variables (scalars only; bad ones are reported by the schema). */
export function collectVariables(tree: unknown): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  const vars = tree && typeof tree === 'object' ? (tree as Record<string, unknown>).variables : undefined;
  if (vars && typeof vars === 'object' && !Array.isArray(vars))
    for (const [k, v] of Object.entries(vars)) if (['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as Scalar;
  return out;
}
