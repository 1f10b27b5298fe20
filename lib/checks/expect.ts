/**
 * Observed versus expected, one way for every check kind (docs/design/scenarios.md §4).
 *
 * A check kind observes something (a JSON document from `ip -j`, a line count in a dump, a counter
 * delta, an exit code), evaluates the recipe's matchers against it and turns the assertions into a
 * verdict with `assertionVerdict`. Every failing assertion names the field, the expected value and the
 * observed one, in the message (text, JUnit) and in `details.assertions` (JSON), so all kinds report
 * alike. A field that cannot be observed at all is an *error* of the check, never a pass.
 *
 * Matchers, as written in recipes:
 *   5000 / "0x1388" / "text" / true     equal (numbers may be written as decimal or 0x strings)
 *   { equals: X }                        equal, explicitly
 *   { min: A, max: B }                   numeric range (either bound alone is fine)
 *   { exists: true } / { exists: false } the field is present / absent
 *   { matches: "regex" }                 string test (JavaScript RegExp syntax)
 *   { contains: "text" } / { not_contains: "text" }
 *   { one_of: [A, B] }                   equal to one of the values
 * Keys of a matcher map combine with AND.
 */

export type Scalar = string | number | boolean;

export interface Matcher {
  equals?: Scalar;
  min?: number;
  max?: number;
  exists?: boolean;
  matches?: string;
  contains?: string;
  not_contains?: string;
  one_of?: Scalar[];
}

const MATCHER_KEYS = ['equals', 'min', 'max', 'exists', 'matches', 'contains', 'not_contains', 'one_of'] as const;

export interface Assertion {
  /** What was asserted on: a JSON path (`linkinfo.info_data.id`), `exit code`, `rx_frame_errors delta`. */
  field: string;
  /** The matcher, shown as written (`5000`, `>= 1`, `matches /error/`). */
  expected: string;
  /** The value seen, shown; `(absent)` when the field does not exist. */
  observed: string;
  ok: boolean;
}

export interface Verdict {
  status: 'passed' | 'failed' | 'error';
  message?: string;
  assertions: Assertion[];
}

/** Numbers written as 0x strings in YAML arrive as strings; compare them as numbers. */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?(0x[0-9a-f]+|\d+(\.\d+)?)\s*$/i.test(v)) return Number(v.trim());
  return undefined;
}

/**
 * Validate a matcher as written in a recipe; returns a problem (what is wrong, what is allowed)
 * or undefined. Used at validation time so a typo never waits for `run`.
 */
export function matcherProblem(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'an expected value is missing; write a value or a matcher such as { min: 1 }';
  if (typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return 'a list is not a matcher; use { one_of: [A, B] } for alternatives';
  const keys = Object.keys(v);
  if (!keys.length) return `an empty map is not a matcher; use one of: ${MATCHER_KEYS.join(', ')}`;
  for (const k of keys) if (!(MATCHER_KEYS as readonly string[]).includes(k)) return `unknown matcher "${k}"; use: ${MATCHER_KEYS.join(', ')}`;
  const m = v as Record<string, unknown>;
  for (const k of ['min', 'max'] as const) if (m[k] !== undefined && asNumber(m[k]) === undefined) return `${k} must be a number, got ${JSON.stringify(m[k])}`;
  if (m.min !== undefined && m.max !== undefined && asNumber(m.min)! > asNumber(m.max)!) return `min ${String(m.min)} is above max ${String(m.max)}`;
  if (m.exists !== undefined && typeof m.exists !== 'boolean') return 'exists must be true or false';
  if (m.matches !== undefined) {
    if (typeof m.matches !== 'string') return 'matches takes a regular expression in quotes';
    try {
      new RegExp(m.matches);
    } catch (e) {
      return `matches: ${JSON.stringify(m.matches)} is not a valid regular expression (${(e as Error).message})`;
    }
  }
  for (const k of ['contains', 'not_contains'] as const) if (m[k] !== undefined && typeof m[k] !== 'string') return `${k} takes text in quotes`;
  if (m.one_of !== undefined && (!Array.isArray(m.one_of) || !m.one_of.length)) return 'one_of takes a non-empty list of values';
  return undefined;
}

export function showMatcher(v: Scalar | Matcher): string {
  if (typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v);
  const parts: string[] = [];
  if (v.equals !== undefined) parts.push(`= ${showMatcher(v.equals)}`);
  if (v.min !== undefined) parts.push(`>= ${v.min}`);
  if (v.max !== undefined) parts.push(`<= ${v.max}`);
  if (v.exists !== undefined) parts.push(v.exists ? 'present' : 'absent');
  if (v.matches !== undefined) parts.push(`matches /${v.matches}/`);
  if (v.contains !== undefined) parts.push(`contains ${JSON.stringify(v.contains)}`);
  if (v.not_contains !== undefined) parts.push(`does not contain ${JSON.stringify(v.not_contains)}`);
  if (v.one_of !== undefined) parts.push(`one of ${v.one_of.map((x) => showMatcher(x)).join(', ')}`);
  return parts.join(' and ');
}

export function showObserved(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (typeof v === 'string') return JSON.stringify(v.length > 200 ? v.slice(0, 200) + '…' : v);
  const s = JSON.stringify(v);
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

function equalScalar(expected: Scalar, observed: unknown): boolean {
  if (observed === expected) return true;
  const a = asNumber(expected);
  const b = asNumber(observed);
  if (a !== undefined && b !== undefined) return a === b;
  // Numbers printed as hex strings by tools ("0x28") against recipe numbers, and vice versa.
  if (typeof expected === 'string' && typeof observed === 'string') return expected.toLowerCase() === observed.toLowerCase();
  return false;
}

/** Whether `observed` (undefined = absent) satisfies the matcher. */
export function matches(m: Scalar | Matcher, observed: unknown): boolean {
  if (typeof m !== 'object') return observed !== undefined && equalScalar(m, observed);
  if (m.exists !== undefined && (observed !== undefined) !== m.exists) return false;
  if (observed === undefined) return m.exists === false;
  if (m.equals !== undefined && !equalScalar(m.equals, observed)) return false;
  if (m.min !== undefined || m.max !== undefined) {
    const n = asNumber(observed);
    if (n === undefined) return false;
    if (m.min !== undefined && n < asNumber(m.min)!) return false;
    if (m.max !== undefined && n > asNumber(m.max)!) return false;
  }
  const text = typeof observed === 'string' ? observed : JSON.stringify(observed);
  if (m.matches !== undefined && !new RegExp(m.matches, 'm').test(text)) return false;
  if (m.contains !== undefined && !text.includes(m.contains)) return false;
  if (m.not_contains !== undefined && text.includes(m.not_contains)) return false;
  if (m.one_of !== undefined && !m.one_of.some((x) => equalScalar(x, observed))) return false;
  return true;
}

/** One assertion: the field, the matcher and what was seen. */
export function assert(field: string, m: Scalar | Matcher, observed: unknown): Assertion {
  return { field, expected: showMatcher(m), observed: showObserved(observed), ok: matches(m, observed) };
}

/**
 * A value inside a JSON document by a dotted path: `linkinfo.info_data.id`, `0.mtu`, `addr_info.1.local`.
 * A numeric segment indexes an array. Undefined when any segment is missing.
 */
export function getPath(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const seg of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(seg)) return undefined;
      node = node[Number(seg)];
    } else node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/**
 * The verdict of a set of assertions made on `subject` (what was looked at, e.g.
 * `ip -d -j link show dev tun0 in netns gl-x-h1`). No assertion at all is an error: a check that
 * asserted nothing has not checked anything.
 */
export function assertionVerdict(subject: string, assertions: Assertion[]): Verdict {
  if (!assertions.length) return { status: 'error', message: `${subject}: nothing was asserted`, assertions };
  const bad = assertions.filter((a) => !a.ok);
  if (!bad.length) return { status: 'passed', assertions };
  const lines = bad.map((a) => `  ${a.field}: expected ${a.expected}, observed ${a.observed}`);
  return { status: 'failed', message: `${subject}:\n${lines.join('\n')}`, assertions };
}
