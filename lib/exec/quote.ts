/** Shell quoting with no dependency: recipe validation needs it, and must not load execa for it. */

/** Shell-quote argv for display and for `plan --format sh` (never executed by us through a shell). */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
