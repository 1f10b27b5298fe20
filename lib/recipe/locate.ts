/**
 * Map a field path (["tunnels", 1, "vni"]) to a 1-based line/column in the YAML source, using the
 * `yaml` Document's node ranges and a LineCounter. A path that does not exist in the source (a
 * missing key, or a value merged in from `defaults`) points at the nearest existing parent.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Problem } from '../errors.js';

export type Path = (string | number)[];

export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

export class Locator {
  constructor(
    readonly file: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter | undefined,
  ) {}

  /** Position of the value at `path` (or of its key when `at` is "key"). */
  position(path: Path, at: 'value' | 'key' = 'value'): { line: number; column: number } {
    if (!this.doc || !this.lines) return { line: 0, column: 0 };
    let node: unknown = this.doc.contents;
    let best: Node | undefined = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
        if (!pair) break;
        if (last && at === 'key' && pair.key && isScalar(pair.key)) {
          best = pair.key;
          break;
        }
        node = pair.value;
        // `key:` with no value: point at the key, not at the empty spot after it.
        const empty = node == null || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
        best = empty ? (isScalar(pair.key) ? pair.key : best) : (node as Node);
        if (empty) break;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item == null) break;
        node = item;
        best = item as Node;
      } else break;
    }
    const offset = best?.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  /**
   * Position of character `offset` inside the one-line string value at `path` (e.g. a word in a
   * flow), when the source spells the value unchanged (plain, or quoted without escapes);
   * otherwise the position of the value itself.
   */
  positionInString(path: Path, offset: number): { line: number; column: number } {
    const start = this.position(path);
    if (!this.doc || !this.lines || offset <= 0) return start;
    const node = this.doc.getIn(path, true);
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return start;
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    if (!quoted && node.type !== 'PLAIN') return start;
    if (node.range[1] - node.range[0] !== node.value.length + (quoted ? 2 : 0) || /\n/.test(node.value)) return start;
    const pos = this.lines.linePos(node.range[0] + (quoted ? 1 : 0) + Math.min(offset, node.value.length));
    return pos.line === start.line ? { line: pos.line, column: pos.col } : start;
  }

  /** A problem at character `offset` of the string value at `path` (see positionInString). */
  problemInString(path: Path, offset: number, message: string, severity: 'error' | 'warning' = 'error'): Problem {
    return { file: this.file, ...this.positionInString(path, offset), path: formatPath(path), message, severity };
  }

  problem(path: Path, message: string, severity: 'error' | 'warning' = 'error', at: 'value' | 'key' = 'value'): Problem {
    return { file: this.file, ...this.position(path, at), path: formatPath(path), message, severity };
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

/** Closest candidate by edit distance, when close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

export function suggest(word: string, candidates: Iterable<string>): string {
  const m = didYouMean(word, candidates);
  return m ? ` (did you mean "${m}"?)` : '';
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}
