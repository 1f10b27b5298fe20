import test from 'ava';
import { baseRecipe, errorsOf, tryLoad } from './helpers.js';

/** [title, recipe text, expected field path, expected message] — each must yield exactly that one error. */
const cases: [string, string, string, RegExp][] = [
  ['duplicate name across kinds', baseRecipe({ guests: '  - { name: sw1, switch: sw1, addresses: [203.0.113.3/24] }' }), 'guests[2].name', /"sw1" is already used by switch at switches\[0\].*unique across/],
  ['duplicate tunnel name', baseRecipe({ top: '', tunnel: 'vni: 1\n' }).replace('checks:', '  - { name: tun0, between: [sw1, sw2] }\nchecks:'), 'tunnels[1].name', /"tun0" is already the name of tunnels\[0\]/],
  // References to an object whose name is invalid are not reported again as unknown (partial.ts).
  ['bad object name', baseRecipe().replace('name: box-2', 'name: Box_2'), 'hosts[1].name', /not a valid name; use lower-case/],
  ['"--" in a name', baseRecipe().replace('name: left', 'name: le--ft').replace('from: left, to: right', 'from: right, to: 203.0.113.1'), 'guests[0].name', /contains "--"/],
  ['unknown host on switch', baseRecipe().replace('host: box-2 }', 'host: box-3 }'), 'switches[1].host', /unknown host "box-3" \(did you mean "box-1"\?\); known hosts: box-1, box-2/],
  ['unknown network', baseRecipe().replace('[{ ipv4: 192.0.2.12/24,', '[{ network: undrelay, ipv4: 192.0.2.12/24,'), 'hosts[1].interfaces[0].network', /unknown network "undrelay" \(did you mean "underlay"\?\)/],
  ['unknown check in during', baseRecipe({ checks: '  - { name: p1, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: underlay, during: p2 }' }), 'checks[1].capture.during', /unknown check "p2" \(did you mean "p1"\?\)/],
  ['capture at_least 0 without forbid', baseRecipe({ checks: '  - { name: p1, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: underlay, during: p1, at_least: 0 }' }), 'checks[1].capture.at_least', /at_least: 0 asserts nothing on its own; add forbid: \{ … \}/],
  ['VNI out of range', baseRecipe({ tunnel: 'vni: 16777216' }), 'tunnels[0].vni', /0\.\.16777215/],
  ['duplicate address', baseRecipe().replace('203.0.113.2/24', '203.0.113.1/24'), 'guests[1].addresses[0]', /address 203\.0\.113\.1 of guest "right" is already used by guest "left"/],
  ['same subnet on two networks', baseRecipe({ top: 'networks: [{ name: underlay }, { name: other }]' }).replace('[{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]', '[{ network: underlay, ipv4: 192.0.2.12/24 }, { network: other, ipv4: 192.0.2.13/24 }]').replace('[{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]', '[{ network: underlay, ipv4: 192.0.2.11/24 }]'), 'hosts[1].interfaces[1].ipv4', /192\.0\.2\.13\/24 on network "other" overlaps 192\.0\.2\.11\/24 on network "underlay"; give each network its own subnet/],
  ['tunnel ends on the same host', baseRecipe().replace('host: box-2 }', 'host: box-1 }'), 'tunnels[0].between', /both ends are on host "box-1"/],
  ['tunnel family not on both ends', baseRecipe({ tunnel: 'family: ipv6' }).replace(', ipv6: "2001:db8::12/64"', ''), 'tunnels[0].family', /ipv6 is not available on both ends: host "box-2" has no ipv6/],
  ['TOS with ECN bits', baseRecipe({ tunnel: 'tos: 0x2b' }), 'tunnels[0].tos', /0x2b has ECN bits set \(0x03\).*use 0x28 or inherit/],
  ['options on plain kernel ends', baseRecipe({ tunnel: 'ovn: { ingress: 1, egress: 2 }' }), 'tunnels[0].ovn', /by OVS .* or by tc on an external/],
  ['options > 252 bytes', baseRecipe({ tunnel: 'external: true\noptions:\n' + Array.from({ length: 3 }, () => `  - { class: 1, type: 1, data: "${'00'.repeat(124)}" }`).join('\n') }), 'tunnels[0].options', /total 384 bytes.*at most 252/],
  ['option data not a multiple of 4', baseRecipe({ tunnel: 'external: true\noptions: [{ class: 0x0102, type: 0x80, data: "000100" }]' }), 'tunnels[0].options[0].data', /3 bytes; it must be a multiple of 4/],
  ['option data > 124 bytes', baseRecipe({ tunnel: `external: true\noptions: [{ class: 1, type: 1, data: "${'00'.repeat(128)}" }]` }), 'tunnels[0].options[0].data', /128 bytes; at most 124/],
  ['option data unquoted number', baseRecipe({ tunnel: 'external: true\noptions: [{ class: 1, type: 1, data: 00010002 }]' }), 'tunnels[0].options[0].data', /write hex in quotes/],
  ['flowlabel on IPv4', baseRecipe({ tunnel: 'flowlabel: 5' }), 'tunnels[0].flowlabel', /IPv6 tunnels only/],
  ['udp6zerocsumtx on IPv4', baseRecipe({ tunnel: 'udp6zerocsumtx: true' }), 'tunnels[0].udp6zerocsumtx', /IPv6 tunnels only/],
  ['udpcsum on IPv6', baseRecipe({ tunnel: 'family: ipv6\nudpcsum: true' }), 'tunnels[0].udpcsum', /IPv4 tunnels only/],
  ['learning on geneve', baseRecipe({ tunnel: 'learning: true' }), 'tunnels[0].learning', /vxlan tunnels only, and this is a geneve tunnel/],
  ['innerprotoinherit on vxlan', baseRecipe({ tunnel: 'type: vxlan\ninnerprotoinherit: true' }), 'tunnels[0].innerprotoinherit', /geneve tunnels only/],
  ['key on geneve', baseRecipe({ tunnel: 'key: 5' }), 'tunnels[0].key', /gre tunnels only.*use vni/],
  ['vni on gre', baseRecipe({ tunnel: 'type: gre\nvni: 5' }), 'tunnels[0].vni', /geneve\/vxlan tunnels only.*use key/],
  ['ovs options on kernel ends', baseRecipe({ tunnel: 'ovs: { key: flow }' }), 'tunnels[0].ovs', /both ends of this tunnel are kernel netdevs/],
  ['impl contradicts the ends', baseRecipe({ tunnel: 'impl: ovs' }), 'tunnels[0].impl', /impl: ovs contradicts ends "sw1" \(kernel\), "sw2" \(kernel\)/],
  ['external with ttl inherit', baseRecipe({ tunnel: 'external: true\nvni: 5\nttl: inherit' }), 'tunnels[0].ttl', /ttl: inherit is not possible with external: true .*tc tunnel_key/],
  ['port outside 1..65535', baseRecipe({ tunnel: 'dstport: 0' }), 'tunnels[0].dstport', /1\.\.65535/],
  ['srcport low > high', baseRecipe({ tunnel: 'srcport: { low: 5000, high: 4000 }' }), 'tunnels[0].srcport.low', /low 5000 is above high 4000/],
  ['routed tunnel without 2 addresses', baseRecipe().replace('between: [sw1, sw2]', 'between: [box-1, box-2]\n    addresses: [198.51.100.1/30]'), 'tunnels[0].addresses', /needs addresses: one per end.*got 1/],
  ['L2 tunnel with addresses', baseRecipe({ tunnel: 'addresses: [198.51.100.1/30, 198.51.100.2/30]' }), 'tunnels[0].addresses', /addresses are for routed tunnels/],
  ['mixed switch/host ends', baseRecipe().replace('between: [sw1, sw2]', 'between: [sw1, box-2]'), 'tunnels[0].between', /a switch and a host/],
  ['guest without addresses used by a check', baseRecipe().replace('switch: sw2, addresses: [203.0.113.2/24]', 'switch: sw2'), 'checks[0].ping.to', /"right" has no addresses, which this check needs/],
  ['check family missing', baseRecipe({ checks: '  - ping: { from: left, to: right, family: ipv6 }' }), 'checks[0].ping.family', /"left" and "right" have no ipv6 address/],
  ['check from == to', baseRecipe({ checks: '  - ping: { from: left, to: left }' }), 'checks[0].ping.to', /from and to are both "left"/],
  ['check unknown endpoint', baseRecipe({ checks: '  - ping: { from: lefty, to: right }' }), 'checks[0].ping.from', /unknown guest, host or switch "lefty" \(did you mean "left"\?\)/],
  ['check with two kinds', baseRecipe({ checks: '  - { ping: { from: left, to: right }, mtu: { from: left, to: right } }' }), 'checks[0]', /exactly one kind, found ping and mtu/],
  ['bad CIDR', baseRecipe().replace('203.0.113.1/24', '203.0.113.300/24'), 'guests[0].addresses[0]', /"203\.0\.113\.300\/24" is not valid; expected an address with prefix/],
  ['IPv6 in ipv4 field', baseRecipe().replace('ipv4: 192.0.2.12/24', 'ipv4: "2001:db8::99/64"'), 'hosts[1].interfaces[0].ipv4', /expected an IPv4 address with prefix/],
  ['interface name clash', baseRecipe().replace('{ name: left, switch: sw1,', '{ name: sw1x, switch: sw1,').replace('from: left', 'from: sw1x').replace('[{ ipv4: 192.0.2.11/24,', '[{ ifname: sw1x, ipv4: 192.0.2.11/24,'), 'guests[0].name', /interface name "sw1x" of the port of guest "sw1x" clashes with host "box-1" interface on "underlay" in namespace gl-t-box-1/],
  ['ssh and simulated hosts on one network', baseRecipe().replace('  - name: box-2\n', '  - name: box-2\n    ssh: root@198.51.100.7\n'), 'hosts[0].interfaces[0]', /network "underlay" joins SSH hosts \("box-2"\) and simulated host "box-1"/],
  ['bad ssh target', baseRecipe().replace('  - name: box-2\n', '  - name: box-2\n    ssh: { target: "root@host name" }\n'), 'hosts[1].ssh.target', /not an SSH target/],
  ['unknown key with suggestion', baseRecipe({ tunnel: 'vnl: 5' }), 'tunnels[0].vnl', /unknown key "vnl"; did you mean "vni"\?/],
  ['unknown key without suggestion lists allowed keys', baseRecipe().replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, colour: red }'), 'switches[0].colour', /unknown key "colour"; allowed here: name, host, kind, addresses, mtu, datapath/],
  ['bad enum with allowed values', baseRecipe({ tunnel: 'type: geneev' }), 'tunnels[0].type', /"geneev" is not a valid tunnel type; use one of: geneve, vxlan, gre/],
  ['missing required field', baseRecipe().replace('{ name: sw2, host: box-2 }', '{ name: sw2 }'), 'switches[1].host', /missing required field "host"/],
  ['lab name too long', baseRecipe().replace('lab: t', 'lab: a-very-long-lab-name-indeed'), 'lab', /at most 20/],
  ['datapath on a bridge', baseRecipe().replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, datapath: netdev }'), 'switches[0].datapath', /OVS switches only/],
  ['multicast MAC', baseRecipe().replace('{ name: left, switch: sw1,', '{ name: left, switch: sw1, mac: "01:00:5e:00:00:01",'), 'guests[0].mac', /multicast MAC; use a unicast one/],
  ['multicast MAC on a host interface', baseRecipe().replace('[{ ipv4: 192.0.2.12/24,', '[{ mac: "03:00:00:00:00:01", ipv4: 192.0.2.12/24,'), 'hosts[1].interfaces[0].mac', /multicast MAC; use a unicast one/],
  ['MAC of an SSH host\'s real NIC', baseRecipe().replace('  - name: box-1\n', '  - name: box-1\n    ssh: root@198.51.100.6\n').replace('  - name: box-2\n', '  - name: box-2\n    ssh: root@198.51.100.7\n').replace('[{ ipv4: 192.0.2.12/24,', '[{ mac: "02:00:00:00:00:12", ipv4: 192.0.2.12/24,'), 'hosts[1].interfaces[0].mac', /host "box-2" is an SSH host and this interface is its real NIC; geneve-lab does not change its MAC/],
];

for (const [title, text, path, re] of cases) {
  test(title, (t) => {
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map((e) => `${e.path}: ${e.message}`).join('\n'));
    t.is(errs[0]?.path, path);
    t.regex(errs[0]?.message ?? '', re);
    t.true((errs[0]?.line ?? 0) > 0, 'located');
  });
}

test('all problems are reported at once (schema and cross-field together)', (t) => {
  const text = baseRecipe({ tunnel: 'tos: 0x29\nudpcsum: true\nfamily: ipv6' }).replace('host: box-2 }', 'host: box-9 }');
  const errs = errorsOf(tryLoad(text));
  t.deepEqual(errs.map((e) => e.path), ['switches[1].host', 'tunnels[0].tos']);
  // The tunnel's own cross-field error appears once the switch is fixed (its end was unknown before).
  const errs2 = errorsOf(tryLoad(text.replace('box-9', 'box-2')));
  t.deepEqual(errs2.map((e) => e.path).sort(), ['tunnels[0].tos', 'tunnels[0].udpcsum']);
});

test('the base recipe used above is itself valid', (t) => {
  const r = tryLoad(baseRecipe());
  t.deepEqual(r.problems, undefined);
});

test('a misspelt section is reported alone, without follow-on complaints', (t) => {
  const errs = errorsOf(tryLoad(baseRecipe().replace('switches:', 'swithces:')));
  t.deepEqual(errs.map((e) => e.path), ['swithces']);
  t.regex(errs[0]!.message, /did you mean "switches"/);
});

test('a misspelt tunable does not hide cross-field problems elsewhere', (t) => {
  const errs = errorsOf(tryLoad(baseRecipe({ tunnel: 'vnl: 5\nflowlabel: 1' })));
  t.deepEqual(errs.map((e) => e.path), ['tunnels[0].vnl', 'tunnels[0].flowlabel']);
});

test('ssh hosts resolve to an ssh placement with paths relative to the recipe', (t) => {
  const src = baseRecipe()
    .replace('  - name: box-1\n', '  - name: box-1\n    ssh: vagrant@192.0.2.11\n')
    .replace('  - name: box-2\n', '  - name: box-2\n    ssh: { target: vagrant@192.0.2.12, port: 2222, identity: keys/id, known_hosts: ../kh }\n');
  const r = tryLoad(src, '/srv/labs/x.yaml');
  t.falsy(r.problems, JSON.stringify(r.problems));
  t.deepEqual(r.ok!.lab.hosts.map((h) => h.placement), [
    { kind: 'ssh', target: 'vagrant@192.0.2.11' },
    { kind: 'ssh', target: 'vagrant@192.0.2.12', port: 2222, identity: '/srv/labs/keys/id', knownHosts: '/srv/kh' },
  ]);
});
