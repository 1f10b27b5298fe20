import test from 'ava';
import { ipQueryProblem, ovsQueryProblem, ipAssertions, selectEntries, stateVerdict, textAssertions, stateExpectProblem, ipStateArgs, ovsStateArgs, type StateObservation } from '../../../lib/checks/state.js';
import type { StateCheck } from '../../../lib/model/look-checks.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const ipCheck = (o: Partial<StateCheck> = {}): StateCheck => ({ kind: 'state', name: 's', on: 'box-1', host: 'box-1', query: { tool: 'ip', args: ['link', 'show', 'dev', 'tun0'] }, where: {}, expect: {}, ...o });
const ovsCheck = (text: StateCheck['text']): StateCheck => ({ kind: 'state', name: 'o', on: 'sw1', host: 'box-1', query: { tool: 'ovs', program: 'appctl', args: ['dpctl/dump-flows'] }, where: {}, expect: {}, text });

// What `ip -d -j link show dev tun0` printed for a geneve device in the VM (environment.md).
const geneve = { ifindex: 7, ifname: 'tun0', mtu: 1450, linkinfo: { info_kind: 'geneve', info_data: { id: 5000, remote: '192.0.2.12', ttl: 33, tos: '0x28', df: 'unset', port: 6081 } } };

test('ip queries: only show/list/get of known objects are read-only', (t) => {
  t.is(ipQueryProblem(['link', 'show', 'dev', 'tun0']), undefined);
  t.is(ipQueryProblem(['-6', 'route', 'get', '2001:db8::1']), undefined);
  t.is(ipQueryProblem(['addr']), undefined);
  t.regex(ipQueryProblem(['link', 'set', 'dev', 'tun0', 'mtu', '1400'])!, /"link set" is not read-only/);
  t.regex(ipQueryProblem(['route', 'flush', 'all'])!, /not read-only/);
  t.regex(ipQueryProblem(['netns', 'add', 'x'])!, /not an object state can query/);
  t.regex(ipQueryProblem(['-force', 'link'])!, /option "-force" is not allowed/);
  t.regex(ipQueryProblem([])!, /names no object/);
});

test('ovs queries: show/dump/trace commands only', (t) => {
  t.is(ovsQueryProblem('appctl', ['dpctl/dump-flows']), undefined);
  t.is(ovsQueryProblem('appctl', ['ofproto/trace', 'br0', 'in_port=1']), undefined);
  t.is(ovsQueryProblem('appctl', ['dpif/show']), undefined);
  t.is(ovsQueryProblem('ofctl', ['dump-flows', 'br0']), undefined);
  t.is(ovsQueryProblem('ofctl', ['-O', 'OpenFlow15', 'dump-ports', 'br0']), undefined);
  t.is(ovsQueryProblem('vsctl', ['get', 'Interface', 'tun0', 'options']), undefined);
  t.regex(ovsQueryProblem('appctl', ['dpctl/del-flows'])!, /not a read-only command/);
  t.regex(ovsQueryProblem('ofctl', ['add-flow', 'br0', 'actions=drop'])!, /"ovs-ofctl add-flow" is not read-only/);
  t.regex(ovsQueryProblem('vsctl', ['set', 'Interface', 'tun0', 'options:key=5'])!, /not read-only/);
  t.regex(ovsQueryProblem('dpctl', ['show'])!, /appctl, ofctl or vsctl/);
});

test('JSON paths on the one entry; count and where on the list', (t) => {
  const { assertions } = ipAssertions(ipCheck({ expect: { 'linkinfo.info_data.id': 5000, mtu: { max: 1450 }, 'linkinfo.info_data.tos': '0x28', 'linkinfo.info_data.external': { exists: false } }, count: 1 }), [geneve], () => undefined);
  t.true(assertions.every((a) => a.ok), JSON.stringify(assertions));
  const bad = ipAssertions(ipCheck({ expect: { 'linkinfo.info_data.id': 5001 } }), [geneve], () => undefined).assertions[0]!;
  t.deepEqual(bad, { field: 'linkinfo.info_data.id', expected: '5001', observed: '5000', ok: false });
  const list = [{ ifname: 'lo', mtu: 65536 }, geneve];
  t.deepEqual(selectEntries(list, { ifname: 'tun0' }), [geneve]);
  t.deepEqual(selectEntries(list, { mtu: { min: 9000 } }), [list[0]]);
  // Several entries: paths start with an index.
  t.true(ipAssertions(ipCheck({ expect: { '1.ifname': 'tun0' } }), list, () => undefined).assertions[0]!.ok);
});

test('unchanged_since / changed_since compare with the snapshot of that step; a missing snapshot is reported', (t) => {
  const c = ipCheck({ expect: { ifindex: { unchanged_since: 'restart' } } });
  t.true(ipAssertions(c, [geneve], () => [geneve]).assertions[0]!.ok);
  const moved = ipAssertions(c, [{ ...geneve, ifindex: 9 }], () => [geneve]).assertions[0]!;
  t.false(moved.ok);
  t.regex(moved.expected, /unchanged since step "restart" \(7\)/);
  t.is(moved.observed, '9');
  const changed = ipCheck({ expect: { ifindex: { changed_since: 'recreate' } } });
  t.true(ipAssertions(changed, [{ ...geneve, ifindex: 9 }], () => [geneve]).assertions[0]!.ok);
  t.deepEqual(ipAssertions(c, [geneve], () => undefined).missing, ['restart']);
  const v = stateVerdict(c, { subject: 'ip -d -j link show dev tun0', raw: '', entries: [geneve] }, () => undefined);
  t.is(v.status, 'error');
  t.regex(v.message!, /cannot compare with step restart: no snapshot/);
  t.is(stateExpectProblem({ unchanged_since: 'x', min: 1 }), 'unchanged_since / changed_since stand alone: { unchanged_since: STEP }');
});

test('OVS text: contains, not_contains, matches and count of lines, each naming what it saw', (t) => {
  const dump = 'recirc_id(0),in_port(2),tunnel(tun_id=0x5),eth_type(0x0800), actions:3\nrecirc_id(0),in_port(3),eth_type(0x0806), actions:tnl_push(tnl_port(4))\nrecirc_id(0),in_port(3),tunnel(tun_id=0x5),eth(), actions:drop\n';
  const a = textAssertions(ovsCheck({ contains: ['tnl_push'], notContains: ['actions:drop'], matches: ['tun_id=0x[0-9]+'], count: { pattern: 'tun_id=0x5', expect: { equals: 2 } } }), dump);
  t.deepEqual(a.map((x) => x.ok), [true, false, true, true]);
  t.is(a[1]!.observed, 'found: "recirc_id(0),in_port(3),tunnel(tun_id=0x5),eth(), actions:drop"');
  const c = textAssertions(ovsCheck({ contains: [], notContains: [], matches: [], count: { pattern: 'tun_id', expect: 6 } }), dump)[0]!;
  t.deepEqual(c, { field: 'lines matching /tun_id/', expected: '6', observed: '2', ok: false });
  const v = stateVerdict(ovsCheck({ contains: ['nothing-like-this'], notContains: [], matches: [] }), { subject: 'ovs-appctl dpctl/dump-flows (OVS of host "box-1")', raw: '', text: dump }, () => undefined);
  t.is(v.status, 'failed');
  t.is(v.message, 'ovs-appctl dpctl/dump-flows (OVS of host "box-1"):\n  output: expected contains "nothing-like-this", observed not found in 3 lines of output');
});

test('a query that could not run is an error, never a pass', (t) => {
  const o: StateObservation = { subject: 'ip -d -j link show dev tun0 in netns x', raw: '', error: 'ip -d -j link show dev tun0 in netns x failed: Cannot open network namespace' };
  t.is(stateVerdict(ipCheck({ expect: { mtu: 1450 } }), o, () => undefined).status, 'error');
  t.is(stateVerdict(ipCheck(), { subject: 's', raw: '', entries: [geneve] }, () => undefined).status, 'error', 'nothing asserted');
});

test('recipe names are translated: dev NETWORK/TUNNEL in ip words, switch/tunnel/guest names in OVS words', (t) => {
  const { lab } = loadRecipeText(`lab: st
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ifname: eth7 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches: [{ name: sw1, host: box-1, kind: ovs }, { name: sw2, host: box-2 }]
guests: [{ name: left, switch: sw1, addresses: [203.0.113.1/24] }, { name: right, switch: sw2, addresses: [203.0.113.2/24] }]
tunnels: [{ name: a-very-long-tunnel-name, between: [sw1, sw2] }]
checks: [{ ping: { from: left, to: right } }]
`, 'st.yaml');
  t.deepEqual(ipStateArgs(lab, 'box-1', ['addr', 'show', 'dev', 'underlay']), ['addr', 'show', 'dev', 'eth7']);
  t.deepEqual(ipStateArgs(lab, 'box-2', ['link', 'show', 'dev', 'a-very-long-tunnel-name']), ['link', 'show', 'dev', 'a-very-lon-' + lab.tunnels[0]!.ends[1]!.ifname.slice(11)]);
  t.deepEqual(ovsStateArgs(lab, 'box-1', ['dump-ports', 'sw1', 'a-very-long-tunnel-name']), ['dump-ports', 'sw1', lab.tunnels[0]!.ends[0]!.ifname]);
});
