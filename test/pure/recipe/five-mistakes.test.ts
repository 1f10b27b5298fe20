import test from 'ava';
import { join } from 'node:path';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { RecipeError, formatProblem } from '../../../lib/errors.js';

test('five mistakes → exactly five precise, located problems', async (t) => {
  const file = join(import.meta.dirname, '../../fixtures/recipes/five-mistakes.yaml');
  const e = await t.throwsAsync(loadRecipeFile(file), { instanceOf: RecipeError });
  const got = e!.problems.map((p) => [p.line, p.column, p.path, p.severity]);
  t.deepEqual(got, [
    [14, 28, 'guests[1].switch', 'error'],
    [18, 10, 'tunnels[0].vni', 'error'],
    [19, 10, 'tunnels[0].tos', 'error'],
    [20, 16, 'tunnels[0].flowlabel', 'error'],
    [21, 14, 'tunnels[0].dstport', 'error'],
  ]);
  const [sw, vni, tos, flow, port] = e!.problems.map((p) => p.message);
  t.regex(sw!, /unknown switch "swx" \(did you mean "sw1"\?\); known switches: sw1, sw2/);
  t.regex(vni!, /16777216 .*VNI.*0\.\.16777215/);
  t.regex(tos!, /0x29 has ECN bits set \(0x01\).*use 0x28 or inherit/);
  t.regex(flow!, /flowlabel applies to IPv6 tunnels only.*set family: ipv6/);
  t.regex(port!, /70000 .*UDP port.*1\.\.65535/);
  t.true(e!.message.startsWith('5 problems in recipe:'));
  t.true(formatProblem(e!.problems[2]!).endsWith('five-mistakes.yaml:19:10: error: tunnels[0].tos: 0x29 has ECN bits set (0x01); the outer ECN is always copied from the inner packet — use 0x28 or inherit'));
});
