/** The test cases of a geneve-lab JUnit report (lib/report), as the Vagrant tier reports them. */
export interface Case {
  name: string;
  failure?: string;
  skipped: boolean;
}
export function parseJunit(xml: string): Case[] {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return xml
    .split('<testcase ')
    .slice(1)
    .map((chunk) => {
      const body = chunk.split('</testcase>')[0] ?? chunk;
      const name = unescape(/\bname="([^"]*)"/.exec(body)?.[1] ?? '?');
      const f = /<(failure|error)\b[^>]*message="([^"]*)"/.exec(body);
      return { name, skipped: /<skipped\b/.test(body), ...(f ? { failure: `${f[1]}: ${unescape(f[2]!)}` } : {}) };
    });
}

