/**
 * Frames and packets written as hex in recipes: "ffffffffffff 020000000001 0800 …". Spaces, tabs
 * and newlines may separate anything (people group bytes by header field and wrap long frames);
 * nothing else is allowed, and every byte needs both of its digits.
 */

export interface HexProblem {
  message: string;
  /** 0-based offset in the written text of the offending character (undefined: the whole value). */
  offset?: number;
}

const SPACE = /[ \t\r\n]/;

/** Why `text` is not a hex byte string, or undefined when it is one. */
export function hexProblem(text: string, what = 'frame'): HexProblem | undefined {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (SPACE.test(c)) continue;
    if (/[0-9a-fA-F]/.test(c)) {
      digits++;
      continue;
    }
    const shown = c === '"' || c === "'" ? `the quote ${c}` : /[\x00-\x1f\x7f]/.test(c) ? `a control character (0x${c.charCodeAt(0).toString(16)})` : `"${c}"`;
    const near = text.slice(Math.max(0, i - 6), i + 7).replace(/\s+/g, ' ');
    const hint = c === 'x' || c === 'X' ? '; write bytes without 0x prefixes' : c === ':' || c === '-' || c === ',' ? '; separate bytes with spaces only' : '';
    return { message: `${what} has ${shown} at character ${i + 1} (near "${near}"), which is not a hex digit; use 0-9 and a-f, optionally separated by spaces or newlines${hint}`, offset: i };
  }
  if (digits === 0) return { message: `${what} is empty; write the bytes in hex, e.g. "ffffffffffff 020000000001 0806 …"` };
  if (digits % 2) return { message: `${what} has ${digits} hex digits, an odd number; every byte needs two digits (a missing or extra digit somewhere?)` };
  return undefined;
}

/** The bytes of a valid hex text (see hexProblem), as lower-case hex without separators. */
export function normalizeHex(text: string): string {
  return text.replace(/[ \t\r\n]/g, '').toLowerCase();
}

export function hexBytes(text: string): Buffer {
  return Buffer.from(normalizeHex(text), 'hex');
}
