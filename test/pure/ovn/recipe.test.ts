/**
 * The `ovn:` recipe section: what the seed-004 recipe resolves to, and every rule that rejects a
 * recipe (one located error each, with what is wrong and what would be right).
 */
import test from 'ava';
import { join } from 'node:path';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { errorsOf, tryLoad } from '../recipe/helpers.js';
import { ovnRecipe } from './helpers.js';

const recipes = join(import.meta.dirname, '../../../recipes');

test('seed 004 resolves to a central, two chassis bound to vm1/vm2, and a logical switch', async (t) => {
  const { lab, warnings } = await loadRecipeFile(join(recipes, 'ovn-seed004.yaml'));
  t.deepEqual(warnings, []);
  t.deepEqual(lab.tunnels, [], 'no tunnel is written: ovn-controller builds them');
  const ovn = lab.ovn!;
  t.deepEqual(ovn.central, { host: 'central', ns: 'gl-ovn-seed004-central', address: '192.0.2.10', ifname: 'underlay' });
  t.is(ovn.network, 'underlay');
  t.deepEqual(
    ovn.chassis.map((c) => [c.name, c.ns, c.encapIp, c.bridge, c.switch, c.bindings]),
    [
      ['worker1', 'gl-ovn-seed004-worker1', '192.0.2.100', 'br-int1', 'br-int1', [{ guest: 'vm1', port: 'vm1', iface: 'vm1' }]],
      ['worker2', 'gl-ovn-seed004-worker2', '192.0.2.101', 'br-int2', 'br-int2', [{ guest: 'vm2', port: 'vm2', iface: 'vm2' }]],
    ],
  );
  t.deepEqual(ovn.switches, [
    {
      name: 'network1',
      ports: [
        { name: 'vm1', guest: 'vm1', addresses: ['40:44:00:00:00:01 198.51.100.11'], portSecurity: [] },
        { name: 'vm2', guest: 'vm2', addresses: ['40:44:00:00:00:02 198.51.100.12'], portSecurity: [] },
      ],
    },
  ]);
  t.is(ovn.readyTimeoutMs, 120_000);
  // Guests get the MTU an OVN Geneve packet leaves them: 1500 − (20 IP + 8 UDP + 8 Geneve + 8 OVN option + 14 Ethernet).
  t.deepEqual(lab.guests.map((g) => g.mtu), [1442, 1442]);
  const cap = lab.checks.find((c) => c.name === 'request-metadata-matches-sb')!;
  t.like(cap, { kind: 'capture', expect: { ovn: { datapath: 'network1', ingress: 'vm1', egress: 'vm2' } } });
  t.like(lab.checks.find((c) => c.name === 'tunnels'), { kind: 'ovn', query: { tool: 'mesh' } });
});

test('defaults: chassis are the hosts of bound guests, MACs are derived, a central of its own, routers and ACLs', (t) => {
  const r = tryLoad(
    ovnRecipe(`
  switches:
    - { name: ls1, ports: [vm1, { guest: vm2, port_security: true }] }
    - { name: ls2, ports: [{ name: outside, addresses: [unknown] }] }
  routers:
    - { name: lr0, ports: [{ switch: ls1, networks: [198.51.100.1/24] }, { switch: ls2, mac: "02:00:00:00:02:01", networks: [203.0.113.1/24, "2001:db8:2::1/64"] }] }
  acls:
    - { switch: ls1, direction: to-lport, priority: 1001, match: "icmp4", action: drop }
  nbctl:
    - [lsp-set-options, outside, foo=bar]
  timeout: 30`, { central: false, macs: false }),
  );
  t.deepEqual(errorsOf(r), []);
  const lab = r.ok!.lab;
  const ovn = lab.ovn!;
  t.deepEqual(ovn.central, { ns: 'gl-o-ovn-central' });
  t.deepEqual(ovn.chassis.map((c) => c.name), ['h1', 'h2']);
  const [vm1, vm2] = lab.guests;
  t.regex(vm1!.mac!, /^0a(:[0-9a-f]{2}){5}$/);
  t.not(vm1!.mac, vm2!.mac);
  t.deepEqual(ovn.switches[0]!.ports[1], { name: 'vm2', guest: 'vm2', addresses: [`${vm2!.mac} 198.51.100.12`], portSecurity: [`${vm2!.mac} 198.51.100.12`] });
  t.deepEqual(ovn.switches[1]!.ports, [{ name: 'outside', addresses: ['unknown'], portSecurity: [] }]);
  t.deepEqual(ovn.routers[0]!.ports.map((p) => [p.name, p.switch, p.switchPort, p.networks]), [
    ['lr0-ls1', 'ls1', 'ls1-lr0', ['198.51.100.1/24']],
    ['lr0-ls2', 'ls2', 'ls2-lr0', ['203.0.113.1/24', '2001:db8:2::1/64']],
  ]);
  t.regex(ovn.routers[0]!.ports[0]!.mac, /^0a:/);
  t.is(ovn.routers[0]!.ports[1]!.mac, '02:00:00:00:02:01');
  t.deepEqual(ovn.acls, [{ switch: 'ls1', direction: 'to-lport', priority: 1001, match: 'icmp4', action: 'drop' }]);
  t.deepEqual(ovn.nbctl, [['lsp-set-options', 'outside', 'foo=bar']]);
  t.is(ovn.readyTimeoutMs, 30_000);
});

test('an explicit chassis without a bound guest gets a br-int of the lab, and its host runs OVS', (t) => {
  const r = tryLoad(ovnRecipe(`
  chassis: [h1, h2, h3]
  switches: [{ name: ls1, ports: [vm1, vm2] }]`, { extraHost: true }));
  t.deepEqual(errorsOf(r), []);
  const c3 = r.ok!.lab.ovn!.chassis.find((c) => c.name === 'h3')!;
  t.deepEqual([c3.bridge, c3.switch, c3.bindings, c3.encapIp], ['br-int', undefined, [], '192.0.2.13']);
});

/** [title, ovn section (or whole-recipe edit), field path, message] — each yields exactly that one error. */
const cases: [string, string | ((s: string) => string), string, RegExp][] = [
  ['unknown guest as a port', `\n  switches: [{ name: ls1, ports: [vm1, vm3] }]`, 'ovn.switches[0].ports[1]', /there is no guest "vm3" \(did you mean "vm1"\?\); guests: vm1, vm2 \(a port without a guest is written \{ name, addresses \}\)/],
  ['a guest bound twice', `\n  switches: [{ name: ls1, ports: [vm1, { name: other, guest: vm1 }] }]`, 'ovn.switches[0].ports[1].guest', /guest "vm1" is already bound to logical port "vm1"/],
  ['duplicate logical port', `\n  switches: [{ name: ls1, ports: [vm1] }, { name: ls2, ports: [{ name: vm1, addresses: [unknown] }] }]`, 'ovn.switches[1].ports[0].name', /logical port "vm1" already exists/],
  ['duplicate datapath name', `\n  switches: [{ name: ls1, ports: [vm1] }]\n  routers: [{ name: ls1 }]`, 'ovn.routers[0].name', /"ls1" is already a logical switch or router/],
  ['router port on an unknown switch', `\n  switches: [{ name: ls1, ports: [vm1] }]\n  routers: [{ name: lr0, ports: [{ switch: ls9, networks: [198.51.100.1/24] }] }]`, 'ovn.routers[0].ports[0].switch', /unknown logical switch "ls9" \(did you mean "ls1"\?\); logical switches: ls1/],
  ['ACL on an unknown switch', `\n  switches: [{ name: ls1, ports: [vm1] }]\n  acls: [{ switch: ls2, direction: to-lport, priority: 1, match: ip4, action: drop }]`, 'ovn.acls[0].switch', /unknown logical switch "ls2"/],
  ['bad ACL action', `\n  switches: [{ name: ls1, ports: [vm1] }]\n  acls: [{ switch: ls1, direction: to-lport, priority: 1, match: ip4, action: deny }]`, 'ovn.acls[0].action', /"deny" is not an ACL action; use allow, allow-related, allow-stateless, drop, reject or pass/],
  ['a port without guest or addresses', `\n  switches: [{ name: ls1, ports: [vm1, { name: p2 }] }]`, 'ovn.switches[0].ports[1]', /port "p2" has no guest, so its addresses must be given/],
  ['guest on a Linux bridge', (s) => ovnRecipe(`\n  switches: [{ name: ls1, ports: [vm1] }]`).replace('{ name: sw1, host: h1, kind: ovs }', '{ name: sw1, host: h1 }'), 'ovn.switches[0].ports[0]', /guest "vm1" is on switch "sw1", a Linux bridge; a guest bound to an OVN port must be on an OVS switch/],
  ['unknown central', () => ovnRecipe(`\n  central: cenral\n  switches: [{ name: ls1, ports: [vm1] }]`, { central: false }), 'ovn.central', /unknown host "cenral" \(did you mean "central"\?\)/],
  ['bound guest on a host missing from chassis', `\n  chassis: [h1]\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'ovn.switches[0].ports[1]', /guest "vm2" is bound to logical port "vm2", but its host "h2" is not in ovn.chassis; add "h2"/],
  ['a recipe tunnel on an integration bridge', (s) => ovnRecipe(`\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`) + 'tunnels:\n  - { name: t1, between: [sw1, sw2] }\n', 'tunnels[0].between', /switches "sw1", "sw2" are an OVN integration bridge, whose Geneve tunnels ovn-controller builds itself; remove tunnel "t1"/],
  ['capture names an unknown port', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].capture.expect.ovn.egress', /"vm3" is not a logical port of this recipe \(did you mean "vm1"\?\)/],
  ['capture port on another datapath', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }, { name: ls2, ports: [{ name: p9, addresses: [unknown] }] }]`, 'checks[1].capture.expect.ovn.egress', /port "p9" is on ls2, not on ls1/],
  ['capture mixes ovn with geneve.vni', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].capture.expect.ovn', /ovn sets geneve.vni from the SB database; remove geneve.vni \(or ovn\)/],
  ['a check that writes', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.nbctl', /"lsp-del" changes the database; a check only reads/],
  ['a query without expect', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.sbctl', /a query needs expect/],
  ['find with --bare', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.sbctl', /list\/find output is read as JSON rows by the check: drop --bare/],
  ['find with a text matcher', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.expect', /list\/find output is a table: expect maps paths of \{ rows, count \}/],
  ['ovn-trace pointed elsewhere', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.trace', /option --db=unix:\/x not allowed here/],
  ['mesh with expect', `\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`, 'checks[1].ovn.expect', /tunnels: mesh has its expectation built in/],
  ['ovn check without ovn section', (s) => s, 'checks[1].ovn', /this recipe has no ovn: section/],
];
const checkFor: Record<string, string> = {
  'capture names an unknown port': '  - capture: { host: h2, interface: underlay, during: p, expect: { ovn: { datapath: ls1, ingress: vm1, egress: vm3 } } }',
  'capture port on another datapath': '  - capture: { host: h2, interface: underlay, during: p, expect: { ovn: { datapath: ls1, egress: p9 } } }',
  'capture mixes ovn with geneve.vni': '  - capture: { host: h2, interface: underlay, during: p, expect: { geneve.vni: 5, ovn: { datapath: ls1 } } }',
  'a check that writes': '  - ovn: { nbctl: [lsp-del, vm1], expect: "" }',
  'a query without expect': '  - ovn: { sbctl: [list, Chassis] }',
  'find with --bare': '  - ovn: { sbctl: [--bare, find, Chassis], expect: { count: 2 } }',
  'find with a text matcher': '  - ovn: { sbctl: [find, Chassis], expect: 2 }',
  'ovn-trace pointed elsewhere': `  - ovn: { trace: ["--db=unix:/x", ls1, 'inport == "vm1"'], expect: { contains: x } }`,
  'mesh with expect': '  - ovn: { tunnels: mesh, expect: 1 }',
  'ovn check without ovn section': '  - ovn: { sbctl: [list, Chassis], expect: { count: 2 } }',
};
for (const [title, section, path, msg] of cases) {
  test(`rejected: ${title}`, (t) => {
    const extraCheck = checkFor[title] ?? '';
    const text = typeof section === 'string' ? ovnRecipe(section, { check: extraCheck }) : section(ovnRecipe('', { check: extraCheck, noOvn: true }));
    const errs = errorsOf(tryLoad(text));
    t.is(errs.length, 1, errs.map((e) => `${e.path}: ${e.message}`).join('\n'));
    t.is(errs[0]?.path, path);
    t.regex(errs[0]?.message ?? '', msg);
    t.true((errs[0]?.line ?? 0) > 0, 'located in the file');
  });
}

test('ssh hosts cannot be chassis; hosts without an address on the OVN network are named', (t) => {
  const ssh = errorsOf(tryLoad(ovnRecipe(`\n  switches: [{ name: ls1, ports: [vm1] }]`).replace('  - name: h1\n', '  - name: h1\n    ssh: root@192.0.2.11\n')));
  t.true(ssh.some((e) => /host "h1" is an SSH host; OVN chassiss? run only on simulated hosts/.test(e.message)), ssh.map((e) => e.message).join('\n'));
  const two = errorsOf(tryLoad(ovnRecipe(`\n  switches: [{ name: ls1, ports: [vm1, vm2] }]`).replace('lab: o\n', 'lab: o\nnetworks: [{ name: underlay }, { name: other }]\n').replace(/interfaces: \[\{ ipv4/g, 'interfaces: [{ network: underlay, ipv4')));
  t.true(two.some((e) => e.path === 'ovn' && /ovn.network is needed: there are 2 networks \(underlay, other\)/.test(e.message)), two.map((e) => e.message).join('\n'));
});

test('the JSON Schema describes the ovn section and the ovn check kind', (t) => {
  const s = recipeJsonSchema() as any;
  t.truthy(s.properties.ovn.description);
  t.deepEqual(Object.keys(s.properties.ovn.properties).sort(), ['acls', 'central', 'chassis', 'nbctl', 'network', 'routers', 'switches', 'timeout']);
  t.truthy(s.properties.checks.items.properties.ovn);
  t.is(s.properties.ovn.additionalProperties, false);
});

test('recipes/ovn-chassis10.yaml is the scale generator\'s output for N = 10 (no tunnel, 10 chassis)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { ovnScaleRecipe } = await import('../../../bench/ovn-scale-recipe.js');
  t.is(readFileSync(join(recipes, 'ovn-chassis10.yaml'), 'utf8'), ovnScaleRecipe('ovn-chassis10', 10, { header: true }));
  const { lab } = await loadRecipeFile(join(recipes, 'ovn-chassis10.yaml'));
  t.deepEqual(lab.tunnels, []);
  t.is(lab.ovn!.chassis.length, 10);
  t.is(lab.checks.filter((c) => c.kind === 'ping').length, 90);
});
