/**
 * Planner behaviours behind the OVS recipes (pure): the OVN option is swapped on the reverse
 * path, GRE over IPsec is refused before anything is built, and a guest MTU that cannot fit
 * the overlay is a recipe warning naming both numbers.
 */
import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import { endOptions } from '../../../lib/plan/ovs.js';
import { PrerequisiteError } from '../../../lib/errors.js';

const base = (tunnel: string, guestExtra = '') => `lab: t
hosts:
  - { name: w1, interfaces: [{ ipv4: 192.0.2.1/24 }] }
  - { name: w2, interfaces: [{ ipv4: 192.0.2.2/24 }] }
switches:
  - { name: s1, host: w1, kind: ovs }
  - { name: s2, host: w2, kind: ovs }
guests:
  - { name: vm1, switch: s1, addresses: [203.0.113.1/24]${guestExtra} }
  - { name: vm2, switch: s2, addresses: [203.0.113.2/24] }
tunnels:
  - ${tunnel}
`;

const flowsOf = (text: string) =>
  planLab(loadRecipeText(text, 'r.yaml').lab, { autoDatapath: 'netdev' })
    .steps.filter((s) => s.op.op === 'ovs.cmds' && s.subject.includes('Geneve options'))
    .map((s) => ({ host: s.host, args: (s.op as { cmds: { args: string[] }[] }).cmds.map((c) => c.args.join(' ')) }));

test('ovn: ends[0] sends ingress 1/egress 2 and accepts 2/1; ends[1] the reverse', (t) => {
  const f = flowsOf(base('{ name: tun, between: [s1, s2], type: geneve, vni: 1, ovn: { ingress: 1, egress: 2 } }'));
  t.is(f.length, 2);
  const [w1, w2] = f;
  t.is(w1!.host, 'w1');
  t.true(w1!.args.some((a) => /in_port=vm1,actions=set_field:0x00010002->tun_metadata0,output:tun/.test(a)), w1!.args.join('\n'));
  t.true(w1!.args.some((a) => /in_port=tun,tun_metadata0=0x00020001,actions=output:vm1/.test(a)), w1!.args.join('\n'));
  t.true(w2!.args.some((a) => /in_port=vm2,actions=set_field:0x00020001->tun_metadata0,output:tun/.test(a)), w2!.args.join('\n'));
  t.true(w2!.args.some((a) => /in_port=tun,tun_metadata0=0x00010002,actions=output:vm2/.test(a)), w2!.args.join('\n'));
  // Both ends bind the same class/type/length to tun_metadata0.
  t.true([w1, w2].every((e) => e!.args[0] === `add-tlv-map ${e!.host === 'w1' ? 's1' : 's2'} {class=0x102,type=0x80,len=4}->tun_metadata0`));
});

test('other options, and an OVN option whose egress is a multicast group, are the same both ways', (t) => {
  const lab = loadRecipeText(base('{ name: tun, between: [s1, s2], type: geneve, options: [{ class: 0x0104, type: 0x01, data: "0000abcd" }, { class: 0x0102, type: 0x80, data: "00018001" }] }'), 'r.yaml').lab;
  const t0 = lab.tunnels[0]!;
  const e0 = endOptions(t0, 0);
  const e1 = endOptions(t0, 1);
  t.deepEqual(e0.send, e1.send);
  t.deepEqual(e0.accept, e0.send);
  t.deepEqual(e0.send.map((o) => o.data), ['0000abcd', '00018001']);
});

test('GRE over IPsec (ovs.psk) is refused on the userspace datapath, naming what works instead; planned on the kernel datapath', (t) => {
  const lab = loadRecipeText(base('{ name: tun, between: [s1, s2], type: gre, ovs: { psk: test123 } }'), 'r.yaml').lab;
  const e = t.throws(() => planLab(lab, { autoDatapath: 'netdev' }), { instanceOf: PrerequisiteError });
  t.regex(e!.message, /tunnel "tun" on host "w1": GRE over IPsec \(ovs\.psk\) on an OVS port: unsupported here: the OVS userspace \(netdev\) datapath cannot encrypt/);
  t.regex(e!.message, /What works: the kernel datapath \(hosts\[\]\.ovs\.datapath: system; .*geneve-lab vm -- up RECIPE`\), or a kernel tunnel netdev at this end/);
  const plan = planLab(lab, { autoDatapath: 'system' });
  t.deepEqual([...new Set(plan.steps.map((s) => s.op.op).filter((o) => o.startsWith('ipsec.')))], ['ipsec.start', 'ipsec.psk', 'ipsec.monitor', 'ipsec.await']);
  t.notThrows(() => planLab(loadRecipeText(base('{ name: tun, between: [s1, s2], type: gre }'), 'r.yaml').lab, { autoDatapath: 'netdev' }));
});

test('a guest MTU that cannot fit the overlay is a warning naming both numbers; one that fits is not', (t) => {
  const tooBig = loadRecipeText(base('{ name: tun, between: [s1, s2], type: geneve, ovn: { ingress: 1, egress: 2 } }', ', mtu: 1450'), 'r.yaml');
  const w = tooBig.warnings.map((p) => `${p.line}:${p.path}: ${p.message}`);
  t.is(w.length, 1, w.join('\n'));
  t.regex(w[0]!, /^9:guests\[0\]\.mtu: guest "vm1" \(tunnel "tun"\): MTU 1450 does not fit: underlay MTU 1500 minus 58 bytes of geneve\/ipv4 encapsulation leaves 1442/);
  const fits = loadRecipeText(base('{ name: tun, between: [s1, s2], type: geneve }', ', mtu: 1450'), 'r.yaml');
  t.deepEqual(fits.warnings, []);
  const gre = loadRecipeText(base('{ name: tun, between: [s1, s2], type: vxlan }', ', mtu: 1500'), 'r.yaml');
  t.regex(gre.warnings[0]!.message, /MTU 1500 does not fit: .* leaves 1450/);
});

test('OVS port towards a kernel geneve end over IPv6 sends UDP checksums (Linux drops zero-checksum IPv6 tunnels by default)', (t) => {
  const text = (s2: string, extra = '') => `lab: t
hosts:
  - { name: w1, interfaces: [{ ipv6: "2001:db8::1/64" }] }
  - { name: w2, interfaces: [{ ipv6: "2001:db8::2/64" }] }
switches:
  - { name: s1, host: w1, kind: ovs }
  - { name: s2, host: w2, kind: ${s2} }
tunnels:
  - { name: tun, between: [s1, s2], type: geneve, family: ipv6${extra} }
`;
  const port = (src: string) =>
    (planLab(loadRecipeText(src, 'r.yaml').lab, { autoDatapath: 'netdev' }).steps.find((s) => s.op.op === 'ovs.tunnel')!.op as { port: { csum?: boolean } }).port;
  t.is(port(text('bridge')).csum, true);
  t.is(port(text('bridge', ', udp6zerocsumrx: true')).csum, undefined, 'the kernel end accepts zero checksums: OVS default');
  t.is(port(text('ovs')).csum, undefined, 'OVS to OVS: OVS default');
});
