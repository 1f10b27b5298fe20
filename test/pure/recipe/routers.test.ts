/**
 * Routers, routes, routed and overlay underlays, link tuning (issue 14, items 6–8): what the recipe
 * layer accepts, what it resolves to, and the located errors it gives for what it cannot build.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { errorsOf, tryLoad } from './helpers.js';
import { validateJson } from './mini-json-schema.js';

/** Two hosts on different networks joined by one router; `extra` replaces parts by regex. */
function routed(o: { hostRoutes1?: string; hostRoutes2?: string; tunnel?: string; routers?: string; hostsExtra?: string; checks?: string } = {}): string {
  return `lab: rt
networks:
  - { name: west, mtu: 9000 }
  - { name: east, mtu: 4000 }
hosts:
  - name: box-1
    interfaces: [{ network: west, ipv4: 192.0.2.11/26, ipv6: "2001:db8:1::11/64" }]
${o.hostRoutes1 ?? '    routes: [{ to: default, via: 192.0.2.1 }, { to: default, via: "2001:db8:1::1" }]'}
  - name: box-2
    interfaces: [{ network: east, ipv4: 192.0.2.140/26, ipv6: "2001:db8:3::12/64" }]
${o.hostRoutes2 ?? '    routes: [{ to: default, via: 192.0.2.129 }, { to: default, via: "2001:db8:3::1" }]'}
${o.hostsExtra ?? ''}
routers:
${
  o.routers ??
  `  - name: r1
    interfaces:
      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }
      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64", mtu: 3000 }`
}
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 5${o.tunnel ?? ''} }
checks:
${o.checks ?? '  - ping: { from: left, to: right }'}
`;
}

test('a routed underlay resolves: each end uses its host\'s only address of the family, on its own network', (t) => {
  const r = tryLoad(routed());
  t.deepEqual(errorsOf(r), []);
  const lab = r.ok!.lab;
  t.deepEqual(r.ok!.warnings, []);
  const tun = lab.tunnels[0]!;
  t.is(tun.underlay, 'routed');
  t.is(tun.family, 'ipv4');
  t.is(tun.network, 'west');
  t.deepEqual(tun.ends.map((e) => [e.host, e.local, e.remote, e.network]), [
    ['box-1', '192.0.2.11', '192.0.2.140', 'west'],
    ['box-2', '192.0.2.140', '192.0.2.11', 'east'],
  ]);
  const v6 = tryLoad(routed({ tunnel: ', family: ipv6' })).ok!.lab.tunnels[0]!;
  t.deepEqual(v6.ends.map((e) => [e.local, e.remote]), [['2001:db8:1::11', '2001:db8:3::12'], ['2001:db8:3::12', '2001:db8:1::11']]);
});

test('routers and host routes resolve into the model', (t) => {
  const lab = tryLoad(routed()).ok!.lab;
  t.deepEqual(lab.routers, [
    {
      name: 'r1',
      ns: 'gl-rt-r1',
      interfaces: [
        { network: 'west', ifname: 'west', peerIfname: 'r1', addresses: ['192.0.2.1/26', '2001:db8:1::1/64'], mtu: 9000 },
        { network: 'east', ifname: 'east', peerIfname: 'r1', addresses: ['192.0.2.129/26', '2001:db8:3::1/64'], mtu: 3000 },
      ],
      routes: [],
      icmpTooBig: 'send',
    },
  ]);
  t.deepEqual(lab.hosts[0]!.routes, [{ to: 'default', via: '192.0.2.1' }, { to: 'default', via: '2001:db8:1::1' }]);
});

test('a route dev naming a network, switch or tunnel becomes that interface name', (t) => {
  const r = tryLoad(routed({ hostRoutes1: '    routes: [{ to: default, via: 192.0.2.1, dev: west }, { to: 198.51.100.0/24, dev: sw1 }, { to: 2001:db8:1::/48, via: "2001:db8:1::1", dev: tun0 }]' }));
  // (tun0 is not a routed tunnel, so its device has no address: a route with dev only is fine.)
  t.deepEqual(errorsOf(r), []);
  t.deepEqual(r.ok!.lab.hosts[0]!.routes!.map((x) => x.dev), ['west', 'sw1', 'tun0']);
});

test('routers can be check endpoints and capture hosts', (t) => {
  const r = tryLoad(routed({ checks: '  - { name: p, ping: { from: r1, to: box-2 } }\n  - capture: { host: r1, interface: east, during: p }' }));
  t.deepEqual(errorsOf(r), []);
  const cap = r.ok!.lab.checks.find((c) => c.kind === 'capture');
  t.like(cap, { host: 'r1', ifname: 'east' });
  t.like(r.ok!.lab.checks[0], { kind: 'ping', from: 'r1', to: 'box-2', family: 'ipv4' });
});

/** [title, recipe, path, message] — each yields exactly that error. */
const cases: [string, string, string, RegExp][] = [
  ['no route towards the other end', routed({ hostRoutes1: '' }), 'hosts[0]', /host "box-1" has no route to 192\.0\.2\.140 \(host "box-2"'s ipv4 address, the other end of tunnel "tun0"\).*e\.g\. routes: \[\{ to: default, via: 192\.0\.2\.1 \}\] \(router "r1" on "west"\)/],
  ['an IPv6 default route does not cover an IPv4 peer', routed({ hostRoutes2: '    routes: [{ to: default, via: "2001:db8:3::1" }]' }), 'hosts[1].routes', /host "box-2" has no route to 192\.0\.2\.11/],
  ['several addresses of the family', routed({ hostsExtra: '' }).replace('interfaces: [{ network: west, ipv4: 192.0.2.11/26, ipv6: "2001:db8:1::11/64" }]', 'interfaces: [{ network: west, ipv4: 192.0.2.11/26, ipv6: "2001:db8:1::11/64" }, { network: middle, ipv4: 198.51.100.11/24 }]').replace('  - { name: east, mtu: 4000 }', '  - { name: east, mtu: 4000 }\n  - { name: middle }'), 'tunnels[0].between', /host "box-1" has 2 \(192\.0\.2\.11 on "west", 198\.51\.100\.11 on "middle"\).*name it with "network", or leave host "box-1" one ipv4 address/],
  ['gateway not a neighbour', routed({ hostRoutes1: '    routes: [{ to: default, via: 192.0.2.99 }, { to: default, via: "2001:db8:1::1" }]' }), 'hosts[0].routes[0].via', /gateway 192\.0\.2\.99 is not on a network of host "box-1" \(its ipv4 subnets: 192\.0\.2\.11\/26\)/],
  ['router gateway not a neighbour', routed({ routers: '  - name: r1\n    routes: [{ to: 198.51.100.0/24, via: 203.0.113.9 }]\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }' }), 'routers[0].routes[0].via', /gateway 203\.0\.113\.9 is not on a network of router "r1"/],
  ['route given twice', routed({ hostRoutes1: '    routes: [{ to: default, via: 192.0.2.1 }, { to: default, via: "2001:db8:1::1" }, { to: default, via: 192.0.2.2 }]' }), 'hosts[0].routes[2].to', /a route to default is already given \(hosts\[0\]\.routes\[0\]\)/],
  ['route dev unknown', routed({ hostRoutes1: '    routes: [{ to: default, via: 192.0.2.1, dev: wset }, { to: default, via: "2001:db8:1::1" }]' }), 'hosts[0].routes[0].dev', /host "box-1" has no interface "wset" \(did you mean "west"\?\)/],
  ['router interface on an unknown network', routed({ routers: '  - name: r1\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: eats, ipv4: 192.0.2.129/26 }' }).replace('via: 192.0.2.129 }, { to: default, via: "2001:db8:3::1" }', 'via: 192.0.2.130 }'), 'routers[0].interfaces[1].network', /unknown network "eats" \(did you mean "east"\?\)/],
  ['router interface without address', routed({ routers: '  - name: r1\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }\n  - name: r2\n    interfaces: [{ network: east }]' }), 'routers[1].interfaces[0]', /a router interface needs an address/],
  ['router twice on a network', routed({ routers: '  - name: r1\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }\n      - { network: east, ipv4: 192.0.2.130/26 }' }), 'routers[0].interfaces[2].network', /attached to network "east" twice/],
  ['router name clashes with a host', routed({ routers: '  - name: box-2\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }' }), 'routers[0].name', /"box-2" is already used by host at hosts\[1\]; names must be unique across networks, hosts, routers/],
  ['router address duplicates a host\'s', routed({ routers: '  - name: r1\n    interfaces:\n      - { network: west, ipv4: 192.0.2.11/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }' }).replace('via: 192.0.2.1 }', 'via: 192.0.2.11 }'), 'routers[0].interfaces[0].ipv4', /address 192\.0\.2\.11 of router "r1" is already used by host "box-1"/],
  ['icmp_too_big value', routed({ routers: '  - name: r1\n    icmp_too_big: block\n    interfaces:\n      - { network: west, ipv4: 192.0.2.1/26, ipv6: "2001:db8:1::1/64" }\n      - { network: east, ipv4: 192.0.2.129/26, ipv6: "2001:db8:3::1/64" }' }), 'routers[0].icmp_too_big', /"block" is not valid for icmp_too_big; use send or drop/],
  ['unknown ethtool feature with a suggestion', routed({ tunnel: ', offloads: { tx-udp_tnl-segmentaton: on }' }), 'tunnels[0].offloads.tx-udp_tnl-segmentaton', /not an ethtool feature name \(did you mean "tx-udp_tnl-segmentation"\?\)/],
  ['offload value', routed({ tunnel: ', offloads: { tso: maybe }' }), 'tunnels[0].offloads.tso', /"maybe" is not valid for an offload; use on\/off/],
  ['gso_max_size range', routed({ tunnel: ', gso_max_size: 0' }), 'tunnels[0].gso_max_size', /not a valid gso_max_size; allowed: an integer 1\.\.524288/],
];

for (const [title, text, path, re] of cases) {
  test(`error: ${title}`, (t) => {
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map((e) => `${e.path}: ${e.message}`).join('\n'));
    t.is(errs[0]?.path, path);
    t.regex(errs[0]?.message ?? '', re);
    t.true((errs[0]?.line ?? 0) > 0, 'located');
  });
}

// ---- a tunnel inside a tunnel

function nested(o: { inner?: string; outer?: string; extra?: string } = {}): string {
  return `lab: nt
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }] }
  - { name: box-3, interfaces: [{ ipv4: 192.0.2.13/24 }] }
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
  - { name: sw3, host: box-3 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: inner, between: [sw1, sw2], type: vxlan, vni: 43, dstport: 4790, network: outer${o.inner ?? ''} }
  - { name: outer, between: [box-1, box-2], type: vxlan, vni: 42, addresses: [198.51.100.1/30, 198.51.100.2/30]${o.outer ?? ''} }
${o.extra ?? ''}
checks:
  - ping: { from: left, to: right }
`;
}

test('a tunnel inside a routed tunnel uses its addresses as underlay, listed before it or not', (t) => {
  const r = tryLoad(nested());
  t.deepEqual(errorsOf(r), []);
  const inner = r.ok!.lab.tunnels.find((x) => x.name === 'inner')!;
  t.is(inner.underlay, 'overlay');
  t.is(inner.network, 'outer');
  t.is(inner.family, 'ipv4');
  t.deepEqual(inner.ends.map((e) => [e.host, e.local, e.remote]), [['box-1', '198.51.100.1', '198.51.100.2'], ['box-2', '198.51.100.2', '198.51.100.1']]);
  const v6 = tryLoad(nested({ outer: '', inner: '' }).replace('[198.51.100.1/30, 198.51.100.2/30]', '["2001:db8:99::1/64", "2001:db8:99::2/64"]')).ok!.lab.tunnels[0]!;
  t.is(v6.family, 'ipv6');
  t.deepEqual(v6.ends.map((e) => e.local), ['2001:db8:99::1', '2001:db8:99::2']);
});

const nestedCases: [string, string, string, RegExp][] = [
  ['inside itself', nested({ inner: '' }).replace('network: outer', 'network: inner'), 'tunnels[0].network', /cannot run inside itself/],
  ['a loop', nested({ outer: ', network: inner' }).replace('addresses: [198.51.100.1/30, 198.51.100.2/30], network: inner', 'addresses: [198.51.100.1/30, 198.51.100.2/30], network: inner').replace('{ name: inner, between: [sw1, sw2]', '{ name: inner, between: [box-1, box-2], addresses: [198.51.100.5/30, 198.51.100.6/30]'), 'tunnels[1].network', /runs inside tunnel "inner", which .* runs inside "outer": a loop/],
  ['inside an L2 tunnel', nested({ extra: '  - { name: l2, between: [sw1, sw3], type: vxlan, vni: 7 }' }).replace('network: outer', 'network: l2'), 'tunnels[0].network', /tunnel "l2" is an L2 tunnel between switches; a tunnel can run inside a routed/],
  ['other hosts than the outer tunnel', nested().replace('between: [sw1, sw2], type: vxlan, vni: 43', 'between: [sw1, sw3], type: vxlan, vni: 43'), 'tunnels[0].between', /joins hosts "box-1" and "box-3", but tunnel "outer" \(its network\) joins "box-1" and "box-2"/],
  ['family of the outer tunnel', nested({ inner: ', family: ipv6' }), 'tunnels[0].family', /tunnel "outer" carries ipv4.*remove family or set ipv4/],
  ['an OVS end', nested().replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }'), 'tunnels[0].network', /an end of tunnel "inner" is an OVS port; only kernel tunnel devices can run inside another tunnel/],
  ['same VXLAN VNI and port as the outer one', nested({ inner: '' }).replace('vni: 43, dstport: 4790', 'vni: 42'), 'tunnels[1].vni', /tunnel "(inner|outer)" and tunnel "(inner|outer)" would both be VXLAN devices with VNI 42 on UDP port 4789 over ipv4 on host "box-1"; the kernel refuses the second one — give one of them another vni or dstport/],
  ['a name that is both a network and a tunnel', nested().replace('hosts:', 'networks: [{ name: outer }]\nhosts:').replace(/\[\{ ipv4: 192\.0\.2\.1(\d)\/24/g, '[{ network: outer, ipv4: 192.0.2.1$1/24'), 'tunnels[0].network', /"outer" is both a network and a tunnel/],
  ['an unknown network names the tunnels', nested().replace('network: outer', 'network: outre'), 'tunnels[0].network', /unknown network "outre".*or a routed tunnel to run inside: outer/],
];

for (const [title, text, path, re] of nestedCases) {
  test(`error (tunnel in tunnel): ${title}`, (t) => {
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map((e) => `${e.path}: ${e.message}`).join('\n'));
    t.is(errs[0]?.path, path);
    t.regex(errs[0]?.message ?? '', re);
  });
}

// ---- link tuning

test('link tuning resolves on every kind of interface; on/off and booleans both work', (t) => {
  const text = `lab: tu
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, offloads: { tso: off, tx-udp_tnl-segmentation: on }, gso_max_size: 16384, gro_max_size: 32768 }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24 }]
switches:
  - { name: sw1, host: box-1, offloads: { gso: false } }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24], offload: { tso: false }, offloads: { tso: off, gro: true }, gro_max_size: 65536 }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, gso_max_size: 32768 }
checks:
  - ping: { from: left, to: right }
`;
  const r = tryLoad(text);
  t.deepEqual(errorsOf(r), []);
  const lab = r.ok!.lab;
  t.deepEqual(lab.hosts[0]!.interfaces[0]!.tuning, { offloads: { tso: false, 'tx-udp_tnl-segmentation': true }, gsoMaxSize: 16384, groMaxSize: 32768 });
  t.deepEqual(lab.switches[0]!.tuning, { offloads: { gso: false } });
  t.deepEqual(lab.guests[0]!.tuning, { offloads: { tso: false, gro: true }, groMaxSize: 65536 });
  t.deepEqual(lab.guests[0]!.offload, { tso: false });
  t.deepEqual(lab.tunnels[0]!.tuning, { gsoMaxSize: 32768 });
  t.is(lab.hosts[1]!.interfaces[0]!.tuning, undefined);
});

const tuningCases: [string, string, string, RegExp][] = [
  ['offload and offloads disagree', routed().replace('{ name: left, switch: sw1, addresses: [203.0.113.1/24] }', '{ name: left, switch: sw1, addresses: [203.0.113.1/24], offload: { gro: false }, offloads: { generic-receive-offload: on } }'), 'guests[0].offloads.generic-receive-offload', /offloads\.generic-receive-offload: on contradicts offload\.gro: false/],
  ['a tunnel whose ends are all OVS ports', routed({ tunnel: ', offloads: { tso: off }' }).replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }').replace('{ name: sw2, host: box-2 }', '{ name: sw2, host: box-2, kind: ovs }').replace('type: vxlan, vni: 5', 'type: geneve, vni: 5'), 'tunnels[0].offloads', /both ends of tunnel "tun0" are OVS ports, which are not kernel devices/],
];
for (const [title, text, path, re] of tuningCases) {
  test(`error (tuning): ${title}`, (t) => {
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map((e) => `${e.path}: ${e.message}`).join('\n'));
    t.is(errs[0]?.path, path);
    t.regex(errs[0]?.message ?? '', re);
  });
}

test('SSH hosts: no routes, no tuning of their real NICs, no routers on their network', (t) => {
  const text = `lab: sx
hosts:
  - { name: box-1, ssh: root@198.51.100.7, interfaces: [{ ipv4: 192.0.2.11/24, offloads: { tso: off } }], routes: [{ to: default, via: 192.0.2.1 }] }
  - { name: box-2, ssh: root@198.51.100.8, interfaces: [{ ipv4: 192.0.2.12/24 }] }
routers:
  - { name: r1, interfaces: [{ ipv4: 192.0.2.1/24 }] }
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan }
checks:
  - ping: { from: box-1, to: box-2 }
`;
  const errs = errorsOf(tryLoad(text));
  t.deepEqual(errs.map((e) => e.path).sort(), ['hosts[0].interfaces[0].offloads', 'hosts[0].routes', 'routers[0].interfaces[0].network']);
  t.regex(errs.find((e) => e.path === 'hosts[0].routes')!.message, /SSH host; its routes are the machine's own/);
  t.regex(errs.find((e) => e.path === 'routers[0].interfaces[0].network')!.message, /real network between SSH hosts; a router is a namespace on this machine/);
});

test('the JSON Schema has routers, routes and link tuning, and the new recipes validate against it', (t) => {
  const s = recipeJsonSchema() as any;
  const router = s.properties.routers.items;
  t.truthy(router.description);
  t.deepEqual(Object.keys(router.properties).sort(), ['icmp_too_big', 'interfaces', 'name', 'routes']);
  t.truthy(router.properties.interfaces.items.properties.offloads);
  t.truthy(s.properties.hosts.items.properties.routes);
  for (const where of [s.properties.hosts.items.properties.interfaces.items, s.properties.guests.items, s.properties.switches.items, s.properties.tunnels.items])
    t.deepEqual(['gro_max_size', 'gso_max_size', 'offloads'].filter((k) => where.properties[k]), ['gro_max_size', 'gso_max_size', 'offloads']);
  for (const f of ['pmtu-router.yaml', 'pmtu-blackhole.yaml', 'pmtu-router-geneve.yaml', 'tunnel-in-tunnel.yaml'])
    t.deepEqual(validateJson(s, parse(readFileSync(new URL(`../../../recipes/${f}`, import.meta.url), 'utf8'))), [], f);
  // The validator can fail on the new keys.
  const errs = validateJson(s, { lab: 'x', routers: [{ name: 'r', interfaces: [{ ipv4: '192.0.2.1/24', bogus: 1 }], icmp_too_big: 'maybe' }] });
  t.true(errs.some((e) => e.includes('bogus')), errs.join('\n'));
  t.true(errs.some((e) => e.includes('icmp_too_big')), errs.join('\n'));
});

test('defaults: router applies to every router', (t) => {
  const r = tryLoad(routed().replace('routers:', 'defaults: { router: { icmp_too_big: drop } }\nrouters:'));
  t.deepEqual(errorsOf(r), []);
  t.is(r.ok!.lab.routers![0]!.icmpTooBig, 'drop');
});
