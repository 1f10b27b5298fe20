/**
 * The benchmark's generated lab: valid, inside documentation ranges, and the hand-written
 * `ip -batch` script builds the same objects as the plan the backends execute (otherwise the
 * "floor" it measures would not be comparable).
 */
import test from 'ava';
import { scaleLayout, scaleRecipe, scaleBatchScript, GUESTS_PER_HOST } from '../../../bench/scale-recipe.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';

const inDocRanges = (a: string) => /^(198\.51\.100|203\.0\.113)\.\d+\/24$/.test(a) || /^2001:db8:[0-9a-f]+::[0-9a-f]+\/64$/.test(a);

for (const n of [1, 50, 51, 508, 509]) {
  test(`N=${n}: the recipe loads, addresses are unique documentation addresses, guests spread over ceil(N/${GUESTS_PER_HOST}) hosts`, (t) => {
    const layout = scaleLayout('bx', n);
    t.is(layout.hosts.length, Math.ceil(n / GUESTS_PER_HOST));
    const addrs = layout.guests.map((g) => g.address);
    t.is(new Set(addrs).size, n, 'no address twice');
    for (const a of addrs) t.true(inDocRanges(a), a);
    const { lab, warnings } = loadRecipeText(scaleRecipe(layout), 'scale.yaml');
    t.deepEqual(warnings, []);
    t.is(lab.guests.length, n);
  });
}

/** "ns link" for every link the plan creates (both veth ends) vs the batch script. */
function planLinks(n: number): string[] {
  const { lab } = loadRecipeText(scaleRecipe(scaleLayout('bx', n)), 'scale.yaml');
  const out: string[] = [];
  for (const s of planLab(lab).steps) {
    if (s.op.op === 'netns.add') out.push(`${s.op.ns} lo`);
    if (s.op.op !== 'link.add') continue;
    out.push(`${s.op.ns} ${s.op.link.name}`);
    if (s.op.link.kind === 'veth') out.push(`${s.op.link.peer.ns} ${s.op.link.peer.name}`);
  }
  return out.sort();
}

function batchLinks(n: number): string[] {
  const script = scaleBatchScript(scaleLayout('bx', n));
  const out: string[] = [];
  for (const { ns, input } of script.perNamespace) {
    for (const line of input.trim().split('\n')) {
      if (line === 'link set lo up') out.push(`${ns} lo`);
      const m = /^link add (\S+) (?:mtu \d+ )?type (\S+)(?: peer name (\S+) netns (\S+))?$/.exec(line);
      if (!m) continue;
      out.push(`${ns} ${m[1]}`);
      if (m[3]) out.push(`${m[4]} ${m[3]}`);
    }
  }
  return out.sort();
}

test('the ip -batch script creates exactly the namespaces and links of the plan, and removes every namespace', (t) => {
  for (const n of [3, 120, 509]) {
    t.deepEqual(batchLinks(n), planLinks(n), `N=${n}`);
    const { lab } = loadRecipeText(scaleRecipe(scaleLayout('bx', n)), 'scale.yaml');
    const planNs = planLab(lab).namespaces.slice().sort();
    const script = scaleBatchScript(scaleLayout('bx', n));
    t.deepEqual(script.root.trim().split('\n').map((l) => l.replace('netns add ', '')).sort(), planNs);
    t.deepEqual(script.down.trim().split('\n').map((l) => l.replace('netns del ', '')).sort(), planNs);
    t.deepEqual(script.perNamespace.map((p) => p.ns).sort(), planNs, 'one batch per namespace');
  }
});

test('every address of the plan is in the batch script, with nodad exactly for IPv6', (t) => {
  for (const n of [40, 509]) {
    const { lab } = loadRecipeText(scaleRecipe(scaleLayout('bx', n)), 'scale.yaml');
    const planAddrs = planLab(lab).steps.flatMap((s) => (s.op.op === 'addr.add' ? [`${s.op.ns} ${s.op.address} ${s.op.dev}${s.op.nodad ? ' nodad' : ''}`] : []));
    const batchAddrs = scaleBatchScript(scaleLayout('bx', n)).perNamespace.flatMap(({ ns, input }) =>
      input.split('\n').flatMap((l) => {
        const m = /^addr add (\S+) dev (\S+)( nodad)?$/.exec(l);
        return m ? [`${ns} ${m[1]} ${m[2]}${m[3] ?? ''}`] : [];
      }),
    );
    t.deepEqual(batchAddrs.sort(), planAddrs.sort(), `N=${n}`);
  }
});

test('bad sizes and lab names are refused with a reason', (t) => {
  t.throws(() => scaleLayout('bx', 0), { message: /positive integer, got 0/ });
  t.throws(() => scaleLayout('Bad-Name', 5), { message: /lab name "Bad-Name" must be/ });
});
