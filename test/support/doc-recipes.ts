/** The complete recipes in README.md and docs/*.md: ```yaml blocks that start with `lab:`. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocRecipe {
  file: string;
  /** Line of the block's first recipe line (1-based). */
  line: number;
  lab: string;
  text: string;
}

export function docRecipes(root: string): DocRecipe[] {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) => {
    const doc = readFileSync(join(root, file), 'utf8');
    return [...doc.matchAll(/```yaml\n(lab:[\s\S]*?)```/g)].map((m) => ({
      file,
      line: doc.slice(0, m.index + '```yaml\n'.length).split('\n').length,
      lab: /^lab: (\S+)/.exec(m[1]!)![1]!,
      text: m[1]!,
    }));
  });
}
