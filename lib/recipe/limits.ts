/**
 * Limits on recipe input, checked before (and around) the YAML parser so that hostile or broken
 * files get our own located message quickly instead of an internal one after seconds and
 * gigabytes: a size limit (refused before reading), a nesting limit (a lexical pre-scan: the
 * parser and everything after it recurse, and "Maximum call stack size exceeded" is no message
 * for a user), an alias-expansion limit (an "alias bomb" expands a few lines into millions of
 * values), exactly one YAML document, and UTF-8 errors with their line and column.
 */
import { isAlias, isCollection, isPair, isScalar, type Document, type LineCounter } from 'yaml';
import type { Problem } from '../errors.js';

/** The largest recipe accepted (1 MiB: a recipe of a thousand hosts is a tenth of that). */
export const MAX_RECIPE_BYTES = 1024 * 1024;
/** The deepest nesting accepted (a recipe needs about 6 levels: checks[].impair.then[].ping.from[]). */
export const MAX_NESTING = 64;
/** The most values aliases may add to a document once expanded (a recipe repeating a value a few times adds tens). */
export const MAX_EXPANDED_NODES = 10_000;

const problem = (file: string, message: string, line = 0, column = 0): Problem => ({ file, line, column, path: '', message, severity: 'error' });

export function sizeProblem(file: string, bytes: number): Problem | undefined {
  if (bytes <= MAX_RECIPE_BYTES) return undefined;
  return problem(file, `is ${(bytes / 1024 / 1024).toFixed(1)} MiB; a recipe may be at most 1 MiB (${MAX_RECIPE_BYTES} bytes) — this is not a recipe, or split it`);
}

/**
 * The first byte that is not valid UTF-8, as a located problem (line and column count the
 * characters before it), or undefined when the bytes are valid UTF-8.
 */
export function utf8Problem(file: string, bytes: Uint8Array): Problem | undefined {
  const at = firstInvalidUtf8(bytes);
  if (at < 0) return undefined;
  let lineStart = 0;
  let line = 1;
  for (let i = 0; i < at; i++)
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  const column = [...new TextDecoder().decode(bytes.subarray(lineStart, at))].length + 1;
  return problem(file, `byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at} is not UTF-8 text; save the recipe as UTF-8 (binary data is not a recipe)`, line, column);
}

/** Offset of the first byte of an invalid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) (n = 1), (min = 0x80);
    else if (c >= 0xe0 && c <= 0xef) (n = 2), (min = 0x800);
    else if (c >= 0xf0 && c <= 0xf4) (n = 3), (min = 0x10000);
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * A lexical estimate of the nesting depth, line by line, before any parsing: flow collections
 * ([ and { outside quotes and comments) plus block levels (indentation steps and `- ` markers).
 * It may over-count odd layouts a little; it never under-counts, which is what a guard needs.
 */
export function nestingProblem(file: string, text: string): Problem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let blockScalarParent = -1; // indentation of the line that opened a | or > scalar
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!;
    const indent = line.length - line.trimStart().length;
    const body = line.slice(indent);
    if (body === '' || body.startsWith('#')) continue;
    if (blockScalarParent >= 0) {
      if (indent > blockScalarParent) continue; // text of a block scalar: not structure
      blockScalarParent = -1;
    }
    if (flow === 0) {
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    // Compact sequence markers on one line ("- - - x") are one level each.
    let col = indent;
    let markers = 0;
    while (line.startsWith('- ', col) || (line[col] === '-' && col + 1 === line.length)) {
      markers++;
      col += 2;
      while (line[col] === ' ') col++;
    }
    let depth = indents.length + markers + flow;
    if (depth > MAX_NESTING) return nestTooDeep(file, ln + 1, col + 1);
    let quote: string | undefined;
    for (let i = col; i < line.length; i++) {
      const ch = line[i]!;
      if (quote) {
        if (ch === '\\' && quote === '"') i++;
        else if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
      else if (ch === '[' || ch === '{') {
        flow++;
        depth = indents.length + markers + flow;
        if (depth > MAX_NESTING) return nestTooDeep(file, ln + 1, i + 1);
      } else if ((ch === ']' || ch === '}') && flow > 0) flow--;
    }
    if (flow === 0 && /(^|[:\s-])[|>][-+0-9]*\s*(#.*)?$/.test(body)) blockScalarParent = indent;
  }
  return undefined;
}

function nestTooDeep(file: string, line: number, column: number): Problem {
  return problem(file, `nesting is deeper than ${MAX_NESTING} levels here; a recipe needs far fewer (about 6) — this is not a recipe, or a bracket is never closed`, line, column);
}

/**
 * How many values the document stands for once its aliases are expanded; when that exceeds the
 * limit, the problem points at the alias that expands the most.
 */
export function aliasProblem(file: string, doc: Document, lines: LineCounter): Problem | undefined {
  let added = 0;
  const sizes = new Map<unknown, number>();
  let worst: { node: unknown; size: number } | undefined;
  const over = () => added > MAX_EXPANDED_NODES;
  // Recursion is bounded: nestingProblem ran first. Anchors come before their aliases (YAML);
  // an alias to an enclosing node would be infinite and counts as over the limit.
  const size = (node: unknown, onPath: Set<unknown>): number => {
    if (node == null || over()) return 1;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) return 1;
      const n = onPath.has(target) ? MAX_EXPANDED_NODES + 1 : (sizes.get(target) ?? size(target, onPath));
      added += n;
      if (!worst || n > worst.size) worst = { node, size: n };
      return n;
    }
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (isScalar(node)) return 1;
    if (isPair(node)) return size(node.key, onPath) + size(node.value, onPath);
    if (isCollection(node)) {
      onPath.add(node);
      let n = 1;
      for (const item of (node as { items: unknown[] }).items) n += size(item, onPath);
      onPath.delete(node);
      sizes.set(node, n);
      return n;
    }
    return 1;
  };
  size(doc.contents, new Set());
  if (!over()) return undefined;
  const at = (worst?.node as { range?: [number, number] } | undefined)?.range?.[0];
  const pos = at !== undefined ? lines.linePos(at) : { line: 0, col: 0 };
  return problem(
    file,
    `aliases (*name) expand this recipe by more than ${MAX_EXPANDED_NODES} values; a recipe needs far fewer — refused as an alias bomb (use an alias only for a value you repeat)`,
    pos.line,
    pos.col,
  );
}
