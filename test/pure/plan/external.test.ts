/**
 * External (collect-metadata) kernel tunnel ends: recipe rules, the planned `tc.tunnel` op with
 * its exact fields, and the tc argv both backends run.
 */
import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import type { Op } from '../../../lib/plan/ops.js';
import { commandArgv, renderOp, renderShell } from '../../../lib/backends/iproute2/render.js';
import { tcFailureHint, tunnelTcArgs } from '../../../lib/tc/tunnel-key.js';
import { baseRecipe, errorsOf, tryLoad } from '../recipe/helpers.js';

const OVN = '{ class: 0x0102, type: 0x80, data: "00010002" }';
const EXP = '{ class: 0xffff, type: 0x01, data: "0000000a" }';

function plan(text: string) {
  return planLab(loadRecipeText(text, 'x.yaml').lab);
}
const tcOps = (text: string) => plan(text).steps.filter((s) => s.op.op === 'tc.tunnel').map((s) => s.op as Extract<Op, { op: 'tc.tunnel' }>);
const onlyErrors = (text: string) => errorsOf(tryLoad(text)).map((e) => `${e.path}: ${e.message}`);

// ---------- recipe rules

test('vni together with external: true is accepted (it is the VNI tc sets and requires)', (t) => {
  t.deepEqual(onlyErrors(baseRecipe({ tunnel: 'external: true\nvni: 77' })), []);
  t.deepEqual(onlyErrors(baseRecipe({ tunnel: 'type: vxlan\nexternal: true\nvni: 77' })), []);
});

test('options on kernel ends: accepted with external, still refused on plain devices', (t) => {
  t.deepEqual(onlyErrors(baseRecipe({ tunnel: `external: true\nvni: 77\noptions: [${OVN}]` })), []);
  const errs = onlyErrors(baseRecipe({ tunnel: `vni: 77\noptions: [${OVN}]` }));
  t.is(errs.length, 1, errs.join('\n'));
  t.regex(errs[0]!, /^tunnels\[0\]\.options: .*by OVS .* or by tc on an external .*set external: true/);
});

test('external with one OVS end is accepted (it applies to the kernel end); with two OVS ends it is refused', (t) => {
  const oneOvs = baseRecipe({ tunnel: `external: true\nvni: 77\noptions: [${OVN}]` }).replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }');
  t.deepEqual(onlyErrors(oneOvs), []);
  const twoOvs = oneOvs.replace('{ name: sw2, host: box-2 }', '{ name: sw2, host: box-2, kind: ovs }');
  const errs = onlyErrors(twoOvs);
  t.is(errs.length, 1, errs.join('\n'));
  t.regex(errs[0]!, /^tunnels\[0\]\.external: .*both ends of this tunnel are OVS ports/);
});

test('what tc tunnel_key cannot express is refused with external, naming the field', (t) => {
  for (const [line, path, re] of [
    ['tos: inherit', 'tunnels[0].tos', /tos: inherit is not possible with external: true/],
    ['df: set', 'tunnels[0].df', /df cannot be set with external: true .*remove df or external/],
    ['family: ipv6\nflowlabel: 5', 'tunnels[0].flowlabel', /flowlabel cannot be set with external: true/],
  ] as const) {
    const errs = errorsOf(tryLoad(baseRecipe({ tunnel: `external: true\nvni: 5\n${line}` })));
    t.deepEqual(errs.map((e) => e.path), [path], line);
    t.regex(errs[0]!.message, re);
  }
});

// ---------- the plan

const kk = baseRecipe({ tunnel: `external: true\nvni: 77\nttl: 33\ntos: 0x28\ndstport: 7000\noptions: [${OVN}, ${EXP}]` });

test('each external kernel end gets its device (no key on it) and one tc.tunnel op with the exact key', (t) => {
  const p = plan(kk);
  const link = p.steps.find((s) => s.op.op === 'link.add' && s.op.link.name === 'tun0' && s.op.ns === 'gl-t-box-1')!;
  t.deepEqual((link.op as Extract<Op, { op: 'link.add' }>).link, { name: 'tun0', alias: 'geneve-lab:t', kind: 'geneve', geneve: { external: true, dstport: 7000 } });
  const ops = tcOps(kk);
  t.deepEqual(ops, [
    {
      op: 'tc.tunnel',
      ns: 'gl-t-box-1',
      dev: 'tun0',
      egress: {
        src: '192.0.2.11', dst: '192.0.2.12', vni: 77, dstPort: 7000, ttl: 33, tos: 0x28, csum: false,
        options: [{ class: 0x0102, type: 0x80, data: '00010002' }, { class: 0xffff, type: 0x01, data: '0000000a' }],
      },
      // From box-2: raw options come back exactly as written (only the ovn: sugar swaps).
      ingress: { src: '192.0.2.12', dst: '192.0.2.11', vni: 77, dstPort: 7000, options: [{ class: 0x0102, type: 0x80, data: '00010002' }, { class: 0xffff, type: 0x01, data: '0000000a' }] },
    },
    {
      op: 'tc.tunnel',
      ns: 'gl-t-box-2',
      dev: 'tun0',
      egress: {
        src: '192.0.2.12', dst: '192.0.2.11', vni: 77, dstPort: 7000, ttl: 33, tos: 0x28, csum: false,
        options: [{ class: 0x0102, type: 0x80, data: '00010002' }, { class: 0xffff, type: 0x01, data: '0000000a' }],
      },
      ingress: { src: '192.0.2.11', dst: '192.0.2.12', vni: 77, dstPort: 7000, options: [{ class: 0x0102, type: 0x80, data: '00010002' }, { class: 0xffff, type: 0x01, data: '0000000a' }] },
    },
  ]);
  // The tc rules come right after the device, before it joins the bridge and goes up.
  const steps = p.steps.filter((s) => s.op.op !== 'addr.add' && 'ns' in s.op && s.op.ns === 'gl-t-box-2' && s.subject.startsWith('tunnel'));
  t.deepEqual(steps.map((s) => s.op.op), ['link.add', 'tc.tunnel', 'link.set', 'sysctl.set', 'link.set'], 'device, tc, bridge, no IPv6 of its own, up');
  t.true(steps.every((s) => s.undo === null), 'the device (and its qdisc) go with the namespace');
});

test('defaults: TTL 64 (an external device has no route fallback), no TOS, checksum per family', (t) => {
  const [v4] = tcOps(baseRecipe({ tunnel: 'external: true\nvni: 5' }));
  t.deepEqual(v4!.egress, { src: '192.0.2.11', dst: '192.0.2.12', vni: 5, dstPort: 6081, ttl: 64, csum: false });
  t.deepEqual(v4!.ingress, { src: '192.0.2.12', dst: '192.0.2.11', vni: 5, dstPort: 6081 });
  t.is(tcOps(baseRecipe({ tunnel: 'external: true\nvni: 5\nudpcsum: true' }))[0]!.egress.csum, true);
  const [v6] = tcOps(baseRecipe({ tunnel: 'external: true\nvni: 5\nfamily: ipv6' }));
  t.like(v6!.egress, { src: '2001:db8::11', dst: '2001:db8::12', csum: true });
  t.is(tcOps(baseRecipe({ tunnel: 'external: true\nvni: 5\nfamily: ipv6\nudp6zerocsumtx: true' }))[0]!.egress.csum, false);
});

test('vxlan external: tc op with port 4789 and no options; the device keeps only what the kernel accepts', (t) => {
  const text = baseRecipe({ tunnel: 'type: vxlan\nexternal: true\nvni: 9\nttl: 20\nlearning: false' });
  const ops = tcOps(text);
  t.is(ops.length, 2);
  t.deepEqual(ops[0]!.egress, { src: '192.0.2.11', dst: '192.0.2.12', vni: 9, dstPort: 4789, ttl: 20, csum: false });
  const link = plan(text).steps.find((s) => s.op.op === 'link.add' && s.op.link.kind === 'vxlan')!.op as Extract<Op, { op: 'link.add' }>;
  t.deepEqual(link.link, { name: 'tun0', alias: 'geneve-lab:t', kind: 'vxlan', vxlan: { external: true, learning: false, dstport: 4789 } });
});

test('plain tunnels get no tc op', (t) => {
  t.deepEqual(tcOps(baseRecipe({ tunnel: 'vni: 5' })), []);
});

test('raw options go on the wire exactly as written both ways, even OVN\'s class/type; only the ovn: sugar swaps its port keys (issue 14)', (t) => {
  const raw = tcOps(baseRecipe({ tunnel: `external: true\nvni: 77\noptions: [${OVN}]` }));
  t.deepEqual(raw.map((o) => [o.egress.options, o.ingress.options]), [
    [[{ class: 0x0102, type: 0x80, data: '00010002' }], [{ class: 0x0102, type: 0x80, data: '00010002' }]],
    [[{ class: 0x0102, type: 0x80, data: '00010002' }], [{ class: 0x0102, type: 0x80, data: '00010002' }]],
  ]);
  const sugar = tcOps(baseRecipe({ tunnel: 'external: true\nvni: 77\novn: { ingress: 1, egress: 2 }' }));
  t.deepEqual(sugar.map((o) => [o.egress.options, o.ingress.options]), [
    [[{ class: 0x0102, type: 0x80, data: '00010002' }], [{ class: 0x0102, type: 0x80, data: '00020001' }]],
    [[{ class: 0x0102, type: 0x80, data: '00020001' }], [{ class: 0x0102, type: 0x80, data: '00010002' }]],
  ]);
});

test('OVS end + external kernel end: tc only on the kernel end, and the OVS end now requires the options it gets back', (t) => {
  const text = baseRecipe({ tunnel: 'external: true\nvni: 77\novn: { ingress: 1, egress: 2 }' }).replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }');
  const ops = tcOps(text);
  t.deepEqual(ops.map((o) => o.ns), ['gl-t-box-2']);
  t.deepEqual(ops[0]!.egress.options, [{ class: 0x0102, type: 0x80, data: '00020001' }]);
  t.deepEqual(ops[0]!.ingress.options, [{ class: 0x0102, type: 0x80, data: '00010002' }]);
  const flows = plan(text).steps.find((s) => s.subject.endsWith('Geneve options'))!.op as Extract<Op, { op: 'ovs.cmds' }>;
  const all = flows.cmds.map((c) => ('args' in c ? c.args : c.argv).join(' ')).join('\n');
  t.regex(all, /set_field:0x00010002->tun_metadata0/);
  t.regex(all, /in_port=tun0,tun_metadata0=0x00020001,actions=output:/);
  t.regex(all, /priority=99,in_port=tun0,actions=drop/);
});

// ---------- rendering

test('tc argv: clsact, egress tunnel_key set, ingress flower accept + unset, drop the rest', (t) => {
  const [op] = tcOps(kk);
  t.deepEqual(renderOp(op!).map(commandArgv), [
    ['ip', 'netns', 'exec', 'gl-t-box-1', 'tc', 'qdisc', 'add', 'dev', 'tun0', 'clsact'],
    ['ip', 'netns', 'exec', 'gl-t-box-1', 'tc', 'filter', 'add', 'dev', 'tun0', 'egress', 'pref', '10', 'protocol', 'all', 'matchall', 'action',
      'tunnel_key', 'set', 'src_ip', '192.0.2.11', 'dst_ip', '192.0.2.12', 'id', '77', 'dst_port', '7000', 'ttl', '33', 'tos', '0x28',
      'geneve_opts', '0102:80:00010002,ffff:01:0000000a', 'nocsum', 'pass'],
    ['ip', 'netns', 'exec', 'gl-t-box-1', 'tc', 'filter', 'add', 'dev', 'tun0', 'ingress', 'pref', '10', 'protocol', 'all', 'flower',
      'enc_src_ip', '192.0.2.12', 'enc_dst_ip', '192.0.2.11', 'enc_key_id', '77', 'enc_dst_port', '7000', 'geneve_opts', '0102:80:00010002,ffff:01:0000000a',
      'action', 'tunnel_key', 'unset', 'pass'],
    ['ip', 'netns', 'exec', 'gl-t-box-1', 'tc', 'filter', 'add', 'dev', 'tun0', 'ingress', 'pref', '20', 'protocol', 'all', 'matchall', 'action', 'drop'],
  ]);
});

test('tc argv without options or TOS, IPv6, checksum on; on an SSH host (ns "") no netns prefix', (t) => {
  const args = tunnelTcArgs('gnv0', { src: '2001:db8::1', dst: '2001:db8::2', vni: 5, dstPort: 6081, ttl: 64, csum: true }, { src: '2001:db8::2', dst: '2001:db8::1', vni: 5, dstPort: 6081 });
  t.deepEqual(args[1]!.slice(11), ['tunnel_key', 'set', 'src_ip', '2001:db8::1', 'dst_ip', '2001:db8::2', 'id', '5', 'dst_port', '6081', 'ttl', '64', 'csum', 'pass']);
  t.deepEqual(args[2]!.slice(10), ['enc_src_ip', '2001:db8::2', 'enc_dst_ip', '2001:db8::1', 'enc_key_id', '5', 'enc_dst_port', '6081', 'action', 'tunnel_key', 'unset', 'pass']);
  const op: Op = { op: 'tc.tunnel', ns: '', dev: 'gnv0', egress: { src: '192.0.2.1', dst: '192.0.2.2', vni: 1, dstPort: 6081, ttl: 64, csum: false }, ingress: { src: '192.0.2.2', dst: '192.0.2.1', vni: 1, dstPort: 6081 } };
  t.deepEqual(commandArgv(renderOp(op)[0]!), ['tc', 'qdisc', 'add', 'dev', 'gnv0', 'clsact']);
});

test('plan --format sh shows the tc commands', (t) => {
  const sh = renderShell(plan(kk).steps);
  t.regex(sh, /^ip netns exec gl-t-box-2 tc filter add dev tun0 egress pref 10 protocol all matchall action tunnel_key set src_ip 192\.0\.2\.12 dst_ip 192\.0\.2\.11 id 77 dst_port 7000 ttl 33 tos 0x28 geneve_opts 0102:80:00010002,ffff:01:0000000a nocsum pass$/m);
});

test('a tc failure caused by a missing kernel module names the module', (t) => {
  t.regex(tcFailureHint('Error: TC classifier not found.\nWe have an error talking to the kernel\n')!, /cls_flower, cls_matchall/);
  t.regex(tcFailureHint('Error: Failed to load TC action module.\nWe have an error talking to the kernel\n')!, /act_tunnel_key/);
  t.is(tcFailureHint('Error: Exclusivity flag on, cannot modify.'), undefined);
});
