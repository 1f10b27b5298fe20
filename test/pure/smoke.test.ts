import test from 'ava';
import { shellQuote } from '../../lib/exec/executor.js';
test('shellQuote quotes only what needs quoting', (t) => {
  t.is(shellQuote(['ip', '-n', 'gl-a-b', 'link', 'set', 'x', 'alias', "it's"]), `ip -n gl-a-b link set x alias 'it'\\''s'`);
});
