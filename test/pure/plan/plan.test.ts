import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';

const lab = loadRecipeText(twoHostRecipe('p1'), 'p1.yaml').lab;
const plan = planLab(lab);

test('plan is a pure function of the model', (t) => {
  t.deepEqual(planLab(lab), plan);
  t.deepEqual(plan.steps.map((s) => s.id), plan.steps.map((_, i) => i + 1));
});

test('every namespace is created (and tagged) before anything is put into it', (t) => {
  const created = new Set<string>();
  for (const s of plan.steps) {
    if (s.op.op === 'netns.add') {
      t.is(s.op.tag, 'geneve-lab:p1');
      created.add(s.op.ns);
      continue;
    }
    const ns = 'ns' in s.op ? s.op.ns : '';
    t.true(created.has(ns), `step ${s.id} (${s.op.op}) uses ${ns} after it exists`);
    if (s.op.op === 'link.add' && s.op.link.kind === 'veth') t.true(created.has(s.op.link.peer.ns));
  }
  t.deepEqual([...created].sort(), ['gl-p1--underlay', 'gl-p1-box-1', 'gl-p1-box-2', 'gl-p1-left', 'gl-p1-right']);
});

test('every link the lab creates carries the lab tag as its alias', (t) => {
  for (const s of plan.steps)
    if (s.op.op === 'link.add') {
      t.is(s.op.link.alias, 'geneve-lab:p1');
      if (s.op.link.kind === 'veth') t.is(s.op.link.peer.alias, 'geneve-lab:p1');
    }
});

test('nothing is ever planned in the root namespace (lab traffic stays in the lab)', (t) => {
  for (const s of plan.steps) if (s.op.op !== 'netns.add' && s.op.op !== 'netns.del') t.true((s.op as { ns: string }).ns.startsWith('gl-p1-'));
});

test('undo: namespaces are deleted; objects inside owned namespaces go with them', (t) => {
  for (const s of plan.steps) {
    if (s.op.op === 'netns.add') t.deepEqual(s.undo, { op: 'netns.del', ns: s.op.ns });
    else t.is(s.undo, null);
  }
});

test('the tunnel ends point at each other over the underlay and are enslaved to their switch', (t) => {
  const tunnels = plan.steps.filter((s) => s.op.op === 'link.add' && s.op.link.kind === 'vxlan');
  t.is(tunnels.length, 2);
  const [a, b] = tunnels.map((s) => (s.op as any).link.vxlan);
  t.like(a, { vni: 123, remote: '192.0.2.12', local: '192.0.2.11', dstport: 4789 });
  t.like(b, { vni: 123, remote: '192.0.2.11', local: '192.0.2.12', dstport: 4789 });
  const enslave = plan.steps.filter((s) => s.op.op === 'link.set' && s.op.name === 'tun0' && s.op.master);
  t.deepEqual(enslave.map((s) => [s.host, (s.op as any).master]), [['box-1', 'sw1'], ['box-2', 'sw2']]);
});

test('guests: veth into the switch, addresses with nodad for IPv6', (t) => {
  const addrs = plan.steps.filter((s) => s.op.op === 'addr.add' && s.op.ns === 'gl-p1-left').map((s) => s.op);
  t.deepEqual(addrs, [
    { op: 'addr.add', ns: 'gl-p1-left', dev: 'eth0', address: '203.0.113.1/24', nodad: false },
    { op: 'addr.add', ns: 'gl-p1-left', dev: 'eth0', address: '2001:db8:100::1/64', nodad: true },
  ]);
});
