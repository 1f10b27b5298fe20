import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadRecipeFile } from '../../../lib/recipe/load.js';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { validateJson } from './mini-json-schema.js';

const dir = join(import.meta.dirname, '../../../recipes');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

test('there are example recipes', (t) => {
  t.true(files.length >= 4, files.join(', '));
});

for (const f of files) {
  test(`recipes/${f} loads without errors or warnings`, async (t) => {
    const { lab, warnings } = await loadRecipeFile(join(dir, f));
    t.deepEqual(warnings, []);
    t.is(lab.source, join(dir, f));
    t.true(lab.checks.length > 0);
    // An OVN recipe names no tunnel: ovn-controller builds them.
    t.true(lab.tunnels.length > 0 || lab.ovn !== undefined);
  });
  test(`recipes/${f} validates against the exported JSON Schema`, (t) => {
    const errs = validateJson(recipeJsonSchema(), parse(readFileSync(join(dir, f), 'utf8')));
    t.deepEqual(errs, []);
  });
}

test('JSON Schema is draft 2020-12, strict, and described', (t) => {
  const s = recipeJsonSchema() as any;
  t.is(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.is(s.additionalProperties, false);
  t.deepEqual(s.required, ['lab']);
  t.truthy(s.properties.lab.description);
  const tunnel = s.properties.tunnels.items;
  t.is(tunnel.properties.vni.anyOf[0].maximum, 16777215);
  t.is(tunnel.properties.dstport.anyOf[0].minimum, 1);
  t.is(tunnel.additionalProperties, false);
  t.truthy(tunnel.description);
  // And the validator can fail: an unknown key and an out-of-range VNI are caught.
  const errs = validateJson(s, { lab: 'x', tunnels: [{ name: 't', between: ['a', 'b'], vni: 1 << 24, bogus: 1 }] });
  t.true(errs.some((e) => e.includes('vni')), errs.join('\n'));
  t.true(errs.some((e) => e.includes('bogus')), errs.join('\n'));
});

test('quickstart resolves to the agreed model', async (t) => {
  const { lab } = await loadRecipeFile(join(dir, 'quickstart.yaml'));
  t.is(lab.nsPrefix, 'gl-quickstart-');
  t.is(lab.tag, 'geneve-lab:quickstart');
  t.deepEqual(lab.networks, [{ name: 'underlay', mtu: 1500, ns: 'gl-quickstart--underlay', bridge: 'br0' }]);
  t.is(lab.hosts[0]!.ns, 'gl-quickstart-box-1');
  t.deepEqual(lab.hosts[0]!.interfaces[0], { network: 'underlay', ifname: 'underlay', peerIfname: 'box-1', addresses: ['192.0.2.11/24'], mtu: 1500 });
  const tun = lab.tunnels[0]!;
  t.is(tun.type, 'geneve');
  t.deepEqual(tun.geneve, { vni: 123 });
  t.deepEqual(lab.switches.map((s) => [s.name, s.kind]), [['sw1', 'ovs'], ['sw2', 'ovs']]);
  t.deepEqual(tun.ends.map((e) => [e.host, e.impl, e.local, e.remote, e.attach.name]), [
    ['box-1', 'ovs', '192.0.2.11', '192.0.2.12', 'sw1'],
    ['box-2', 'ovs', '192.0.2.12', '192.0.2.11', 'sw2'],
  ]);
  // The recipe's two pings, then the default vswitchd log gate of each host running the lab's OVS.
  t.deepEqual(lab.checks.map((c) => [c.kind, 'family' in c ? c.family : c.name]), [['ping', 'ipv4'], ['ping', 'ipv6'], ['log', 'vswitchd-log box-1'], ['log', 'vswitchd-log box-2']]);
  t.is(lab.guests[0]!.peerIfname, 'left');
  t.is(lab.guests[0]!.ifname, 'eth0');
});
