/** Real tool output captured on the development machine (see test/fixtures/checks/README.md). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'checks');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** stdout and stderr of a captured ping run. */
export function pingRun(name: string): [string, string] {
  return [fixture(`${name}.stdout`), fixture(`${name}.stderr`)];
}
