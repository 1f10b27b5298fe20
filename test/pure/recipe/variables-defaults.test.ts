import test from 'ava';
import { baseRecipe, errorsOf, tryLoad } from './helpers.js';

test('a whole-string variable keeps its type; embedded ones are spliced', (t) => {
  const r = tryLoad(baseRecipe({ top: 'variables: { vni: 4242, subnet: "203.0.113", csum: true }', tunnel: 'vni: ${vni}\nudpcsum: ${csum}' }).replace('203.0.113.1/24', '"${subnet}.1/24"'));
  t.falsy(r.problems);
  const lab = r.ok!.lab;
  t.is(lab.tunnels[0]!.geneve!.vni, 4242);
  t.is(lab.tunnels[0]!.geneve!.udpcsum, true);
  t.deepEqual(lab.guests[0]!.addresses, ['203.0.113.1/24']);
});

test('an unknown variable is an error where it is used, with a suggestion', (t) => {
  const src = baseRecipe({ top: 'variables: { vni: 7 }', tunnel: 'vni: ${vin}' });
  const errs = errorsOf(tryLoad(src));
  t.is(errs.length, 1, errs.map((e) => e.message).join('\n'));
  t.is(errs[0]!.path, 'tunnels[0].vni');
  t.regex(errs[0]!.message, /unknown variable "\$\{vin\}" \(did you mean "vni"\?\); defined variables: vni/);
  t.is(errs[0]!.line, src.split('\n').findIndex((l) => l.includes('${vin}')) + 1);
});

test('variables must be scalars', (t) => {
  const errs = errorsOf(tryLoad(baseRecipe({ top: 'variables: { l: [1, 2] }' })));
  t.is(errs[0]?.path, 'variables.l');
  t.regex(errs[0]?.message ?? '', /a variable is a scalar/);
});

test('defaults are merged shallowly and the object wins', (t) => {
  const src = baseRecipe({
    top: 'defaults:\n  tunnel: { type: vxlan, ttl: 64, vni: 9 }\n  guest: { mtu: 1400 }\n  ping: { count: 7, interval: 0.5 }',
    tunnel: 'vni: 10',
  }).replace('{ name: right, switch: sw2,', '{ name: right, switch: sw2, mtu: 1450,');
  const r = tryLoad(src);
  t.falsy(r.problems);
  const lab = r.ok!.lab;
  t.is(lab.tunnels[0]!.type, 'vxlan');
  t.deepEqual(lab.tunnels[0]!.vxlan, { ttl: 64, vni: 10 });
  t.deepEqual(lab.guests.map((g) => g.mtu), [1400, 1450]);
  const ping = lab.checks[0]!;
  t.is(ping.kind, 'ping');
  if (ping.kind === 'ping') {
    t.is(ping.count, 7);
    t.is(ping.intervalMs, 500);
    t.is(ping.deadlineS, Math.max(5, Math.ceil(7 * 0.5 + 3)));
  }
});

test('a bad default is reported once, in defaults', (t) => {
  const errs = errorsOf(tryLoad(baseRecipe({ top: 'defaults:\n  tunnel: { vni: -1 }' })));
  t.deepEqual(errs.map((e) => e.path), ['defaults.tunnel.vni']);
});

test('built-in defaults fill the model', (t) => {
  const lab = tryLoad(baseRecipe({ checks: '  - ping: { from: left, to: right }\n  - iperf: { from: left, to: right, min: 500Mbit, max_loss: "0.1%", bitrate: 1G }\n  - mtu: { from: left, to: right, expect: 1450 }' })).ok!.lab;
  t.deepEqual(lab.checks[0], { kind: 'ping', name: 'ping left→right', from: 'left', to: 'right', family: 'ipv4', count: 3, size: 56, df: false, intervalMs: 200, deadlineS: 5, expect: 'reachable', maxLossPct: 0 });
  t.deepEqual(lab.checks[1], { kind: 'iperf', name: 'iperf left→right', from: 'left', to: 'right', family: 'ipv4', protocol: 'tcp', durationS: 5, parallel: 1, reverse: false, bitrate: '1G', minBps: 500e6, maxLossPct: 0.1 });
  t.deepEqual(lab.checks[2], { kind: 'mtu', name: 'mtu left→right', from: 'left', to: 'right', family: 'ipv4', expectMtu: 1450 });
  t.deepEqual(lab.guests[0]!.offload, {});
  t.deepEqual(lab.guests[0]!.routes, []);
  t.is(lab.tunnels[0]!.type, 'geneve');
  t.is(lab.tunnels[0]!.family, 'ipv4');
});

test('check lists expand into one check per pair, skipping from == to, with unique names', (t) => {
  const lab = tryLoad(baseRecipe({ checks: '  - ping: { from: [left, right], to: [left, right] }\n  - ping: { from: left, to: right }' })).ok!.lab;
  t.deepEqual(lab.checks.map((c) => c.name), ['ping left→right', 'ping right→left', 'ping left→right #2']);
});

test('family defaults to ipv6 when only IPv6 is on both ends', (t) => {
  const src = baseRecipe().replace(/ipv4: 192\.0\.2\.1\d\/24, /g, '');
  const lab = tryLoad(src).ok!.lab;
  t.is(lab.tunnels[0]!.family, 'ipv6');
  t.deepEqual([lab.tunnels[0]!.ends[0].local, lab.tunnels[0]!.ends[0].remote], ['2001:db8::11', '2001:db8::12']);
});

test('hex strings, OVN sugar and capture interface resolution', (t) => {
  const src = baseRecipe({
    tunnel: 'tos: "0x28"\nflowlabel: "0x1"\nfamily: ipv6\nvni: 0x10\noptions: [{ class: 0x0102, type: 0x80, data: "0x0001000A" }]\novn: { ingress: 1, egress: 2 }',
    checks: '  - { name: p, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: underlay, during: p, expect: { geneve.vni: 16 } }',
  }).replace(/host: (box-\d) \}/g, 'host: $1, kind: ovs }');
  const r = tryLoad(src);
  t.falsy(r.problems, JSON.stringify(r.problems));
  const tun = r.ok!.lab.tunnels[0]!;
  t.deepEqual(tun.ends.map((e) => e.impl), ['ovs', 'ovs']);
  t.is(tun.geneve!.tos, 0x28);
  t.is(tun.geneve!.vni, 16);
  t.deepEqual(tun.options, [
    { class: 0x0102, type: 0x80, data: '0001000a' },
    { class: 0x0102, type: 0x80, data: '00010002', ovn: true }, // from the ovn: sugar (the only kind that swaps on the way back)
  ]);
  const cap = r.ok!.lab.checks[1]!;
  t.is(cap.kind, 'capture');
  if (cap.kind === 'capture') {
    t.is(cap.ifname, 'underlay');
    t.is(cap.atLeast, 1);
    t.deepEqual(cap.expect, { 'geneve.vni': 16 });
  }
});
