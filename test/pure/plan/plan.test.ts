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

/** [ns, device] of every device the plan makes silent, and whether that comes before the device goes up. */
function quieted(steps: ReturnType<typeof planLab>['steps']): { devices: string[]; beforeUp: boolean; tolerant: boolean } {
  const devices: string[] = [];
  let beforeUp = true;
  let tolerant = true;
  steps.forEach((s, i) => {
    const m = s.op.op === 'sysctl.set' ? /^net\/ipv6\/conf\/(.+)\/disable_ipv6$/.exec(s.op.key) : null;
    if (!m || s.op.op !== 'sysctl.set') return;
    if (s.op.value !== '1' || s.op.ifPresent !== true) tolerant = false;
    devices.push(`${s.op.ns}/${m[1]}`);
    const ns = s.op.ns;
    const up = steps.findIndex((u) => u.op.op === 'link.set' && u.op.ns === ns && u.op.name === m[1] && u.op.up);
    if (up !== -1 && up < i) beforeUp = false;
  });
  return { devices: devices.sort(), beforeUp, tolerant };
}

test('devices that only carry frames get no IPv6 of their own (no RS/MLD/DAD from bridges and ports), set before they come up; addressed ones keep it', (t) => {
  const q = quieted(plan.steps);
  t.deepEqual(q.devices, [
    'gl-p1--underlay/br0',
    'gl-p1--underlay/box-1',
    'gl-p1--underlay/box-2',
    'gl-p1-box-1/left',
    'gl-p1-box-1/sw1',
    'gl-p1-box-1/tun0',
    'gl-p1-box-2/right',
    'gl-p1-box-2/sw2',
    'gl-p1-box-2/tun0',
  ].sort());
  t.true(q.beforeUp, 'each is set before its device goes up: not one packet leaves');
  t.true(q.tolerant, 'disable_ipv6=1, skipped on a kernel without IPv6');
  // The guests' NICs and the hosts' underlay NICs carry addresses: untouched.
  t.false(q.devices.some((d) => d.startsWith('gl-p1-left/') || d.startsWith('gl-p1-right/') || d.endsWith('/underlay')));

  // OVS on the userspace datapath: the NIC becomes a port of the underlay bridge (which takes the
  // address, and keeps IPv6); a switch with an address of the recipe keeps it too.
  const ovs = loadRecipeText(
    twoHostRecipe('p2').replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs, addresses: ["2001:db8:200::1/64"] }').replace('{ name: sw2, host: box-2 }', '{ name: sw2, host: box-2, kind: ovs }').replace('type: vxlan', 'type: geneve'),
    'p2.yaml',
  ).lab;
  const q2 = quieted(planLab(ovs, { autoDatapath: 'netdev' }).steps);
  t.true(q2.beforeUp);
  t.true(q2.devices.includes('gl-p2-box-1/underlay') && q2.devices.includes('gl-p2-box-2/underlay'), 'the NIC under br-underlay');
  t.false(q2.devices.some((d) => d.endsWith('/br-underlay')), 'the underlay bridge has the host address');
  t.false(q2.devices.includes('gl-p2-box-1/sw1'), 'a switch with an address keeps IPv6');
  t.true(q2.devices.includes('gl-p2-box-2/sw2'));
  t.true(q2.devices.includes('gl-p2-box-1/left') && q2.devices.includes('gl-p2-box-2/right'), 'guest ports on OVS');
});

test('a host interface\'s fixed mac goes to the device holding its address: the NIC, or br-underlay (other_config:hwaddr) on the userspace datapath', (t) => {
  const text = (lab: string) => twoHostRecipe(lab).replace('[{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]', '[{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64", mac: "02:00:00:00:00:AB" }]');
  const kernel = planLab(loadRecipeText(text('m1'), 'm1.yaml').lab).steps;
  const nic = kernel.find((s) => s.op.op === 'link.add' && s.op.ns === 'gl-m1-box-2' && s.op.link.name === 'underlay');
  t.like(nic?.op, { link: { kind: 'veth', mac: '02:00:00:00:00:ab' } });
  const other = kernel.find((s) => s.op.op === 'link.add' && s.op.ns === 'gl-m1-box-1' && s.op.link.name === 'underlay');
  t.is((other?.op as { link: { mac?: string } }).link.mac, undefined, 'only the interface that asks for one');

  const ovsText = text('m2').replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }').replace('{ name: sw2, host: box-2 }', '{ name: sw2, host: box-2, kind: ovs }').replace('type: vxlan', 'type: geneve');
  const user = planLab(loadRecipeText(ovsText, 'm2.yaml').lab, { autoDatapath: 'netdev' }).steps;
  const nic2 = user.find((s) => s.op.op === 'link.add' && s.op.ns === 'gl-m2-box-2' && s.op.link.name === 'underlay');
  t.is((nic2?.op as { link: { mac?: string } }).link.mac, undefined, 'the NIC is only a port of br-underlay');
  const br = user.find((s) => s.op.op === 'ovs.cmds' && s.op.ns === 'gl-m2-box-2' && JSON.stringify(s.op.cmds).includes('add-br","br-underlay'));
  t.true(JSON.stringify(br?.op).includes('"other_config:hwaddr=02:00:00:00:00:ab"'), JSON.stringify(br?.op));
});
