/**
 * Text → a regular expression that matches exactly that text. (RegExp.escape does this from
 * Node 24 on; the project supports Node 22.)
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
