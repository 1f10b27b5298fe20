/**
 * Recipe rules for OVS switch programs (flows, tlv_map, groups, meters, fail_mode, protocols,
 * openflow, mac) and per-end tunnel parameters (`ends:`), including the issue 13/14 bugs:
 * every bad input is an error located at file:line:column that says what would be right.
 */
import test from 'ava';
import { errorsOf, tryLoad } from './helpers.js';

/** Two OVS hosts; `sw1` lines go under switch sw1, `tunnel` lines under tunnels[0]. */
function ovsRecipe(o: { sw1?: string; sw2?: string; tunnel?: string; extra?: string; kind2?: string } = {}): string {
  const indent = (s: string | undefined, n: number) => (s ?? '').split('\n').filter(Boolean).map((l) => ' '.repeat(n) + l).join('\n');
  return `lab: t
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }] }
  - { name: box-3, interfaces: [{ ipv4: 192.0.2.13/24 }] }
switches:
  - name: sw1
    host: box-1
    kind: ovs
${indent(o.sw1, 4)}
  - name: sw2
    host: box-2
    kind: ${o.kind2 ?? 'ovs'}
${indent(o.sw2, 4)}
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - name: tun0
    between: [sw1, sw2]
    vni: 5
${indent(o.tunnel, 4)}
${o.extra ?? ''}`;
}

const errs = (text: string) => errorsOf(tryLoad(text)).map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
const lab = (text: string) => {
  const r = tryLoad(text);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.ok.lab;
};

test('a switch program resolves: flows with real port names and their recipe positions, TLV map, protocol settings', (t) => {
  const l = lab(
    ovsRecipe({
      sw1: `mac: "02:00:00:00:01:00"
fail_mode: secure
protocols: [OpenFlow10, OpenFlow15]
openflow: OpenFlow15
tlv_map: [{ class: 0xffff, type: 0x80, len: 4, field: tun_metadata0 }, { class: 0xffff, type: 1, len: 0, field: tun_metadata7 }]
flows:
  - "in_port=left,actions=set_field:1->tun_metadata0,output:tun0"
  - "in_port=tun0,tun_metadata7,actions=left"
groups: ["group_id=1,type=all,bucket=output:left"]
meters: ["meter=1,kbps,band=type=drop,rate=1000"]`,
    }),
  );
  const sw = l.switches[0]!;
  t.is(sw.mac, '02:00:00:00:01:00');
  t.deepEqual(sw.program!.tlvMap, [{ class: 0xffff, type: 0x80, len: 4, field: 0 }, { class: 0xffff, type: 1, len: 0, field: 7 }]);
  t.is(sw.program!.failMode, 'secure');
  t.deepEqual(sw.program!.protocols, ['OpenFlow10', 'OpenFlow15']);
  t.is(sw.program!.openflow, 'OpenFlow15');
  t.deepEqual(sw.program!.flows!.map((f) => f.text), ['in_port=left,actions=set_field:1->tun_metadata0,output:tun0', 'in_port=tun0,tun_metadata7,actions=left']);
  t.regex(sw.program!.flows![0]!.at, /recipe\.yaml:16:9$/);
  t.is(sw.program!.groups.length, 1);
  t.is(sw.program!.meters[0]!.text, 'meter=1,kbps,band=type=drop,rate=1000');
  t.is(l.switches[1]!.program, undefined, 'a switch without program keys keeps the default');
});

test('flow problems: unknown port, table out of range, unmapped tun_metadata — each at the word that is wrong', (t) => {
  const e = errs(ovsRecipe({ sw1: 'flows:\n  - "table=0,in_port=lefty,actions=output:tun0"\n  - "table=300,actions=drop"\n  - "actions=set_field:1->tun_metadata3,output:tun0"' }));
  t.is(e.length, 3, e.join('\n'));
  t.regex(e[0]!, /^11:26 switches\[0\]\.flows\[0\]: flow "table=0,in_port=lefty,actions=output:tun0": in_port: port "lefty" does not exist on switch "sw1"; its ports: left, sw1, tun0/);
  t.regex(e[1]!, /^12:16 switches\[0\]\.flows\[1\]: .*table 300 is out of range; OpenFlow tables are 0\.\.254/);
  t.regex(e[2]!, /^13:31 switches\[0\]\.flows\[2\]: .*tun_metadata3 is not bound to a Geneve option on switch "sw1" .*add it to tlv_map/);
});

test('OVS program keys: only on OVS switches; openflow within protocols; groups and meters need their OpenFlow version; TLV map sanity', (t) => {
  t.regex(errs(ovsRecipe({ kind2: 'bridge', sw2: 'flows: ["actions=drop"]' }))[0]!, /switches\[1\]\.flows: flows applies to OVS switches only, and "sw2" is a Linux bridge; set kind: ovs/);
  t.regex(errs(ovsRecipe({ sw1: 'protocols: [OpenFlow10]\nopenflow: OpenFlow13' }))[0]!, /openflow: OpenFlow13 is not among the switch's protocols \(OpenFlow10\)/);
  t.regex(errs(ovsRecipe({ sw1: 'openflow: OpenFlow10\ngroups: ["group_id=1,type=all,bucket=output:left"]' }))[0]!, /groups need OpenFlow 1\.1 or later/);
  t.regex(errs(ovsRecipe({ sw1: 'protocols: [OpenFlow10, OpenFlow11]\nmeters: ["meter=1,kbps,band=type=drop,rate=1"]' }))[0]!, /meters need OpenFlow 1\.3 or later, and ovs-ofctl would speak OpenFlow11/);
  const tlv = errs(ovsRecipe({ sw1: 'tlv_map: [{ class: 1, type: 1, len: 6, field: tun_metadata0 }, { class: 1, type: 1, len: 4, field: tun_metadata0 }]' }));
  t.is(tlv.length, 3, tlv.join('\n'));
  t.regex(tlv.join('\n'), /len 6 is not a multiple of 4/);
  t.regex(tlv.join('\n'), /tun_metadata0 is already bound by tlv_map\[0\]/);
  t.regex(tlv.join('\n'), /class 0x1 type 0x1 is already mapped by tlv_map\[0\]/);
  t.regex(errs(ovsRecipe({ sw1: 'tlv_map: [{ class: 1, type: 1, len: 4, field: tun_metadata64 }]' }))[0]!, /not a metadata field; use tun_metadata0\.\.tun_metadata63/);
  t.regex(errs(ovsRecipe({ sw1: 'mac: "01:00:00:00:00:01"' }))[0]!, /multicast MAC/);
  t.regex(errs(ovsRecipe({ sw1: 'flows: ["in_port=left\\nactions=drop"]' }))[0]!, /a flow is one line/);
});

test('ends: per-end values resolve; an entry that is not an end is an error at its key, with the real ends', (t) => {
  const l = lab(ovsRecipe({ tunnel: 'ends:\n  sw2: { vni: 6, dstport: 7000, ttl: 9, df: false, options: [{ class: 0xffff, type: 1, data: "0000000a" }] }' }));
  const [a, b] = l.tunnels[0]!.ends;
  t.is(a.overrides, undefined);
  t.deepEqual(b.overrides, { vni: 6, dstport: 7000, ttl: 9, df: 'unset', options: [{ class: 0xffff, type: 1, data: '0000000a' }] });
  const e = errs(ovsRecipe({ tunnel: 'ends:\n  sw3: { vni: 6 }' }));
  t.deepEqual(e, ['23:7 tunnels[0].ends.sw3: "sw3" is not an end of tunnel "tun0" (did you mean "sw1"?); its ends are "sw1" and "sw2" (the names in between)']);
});

test('ends: what cannot apply to an end is refused, naming the end and the fix', (t) => {
  const kernel = (tunnel: string) => errs(ovsRecipe({ kind2: 'bridge', tunnel }));
  t.regex(kernel('ends:\n  sw2: { in_key: 5 }')[0]!, /in_key applies to OVS ports, and end "sw2" of tunnel "tun0" is a kernel geneve device/);
  t.regex(kernel('ends:\n  sw2: { remote: flow }')[0]!, /"flow" needs an OVS port/);
  t.regex(kernel('ends:\n  sw2: { key: 5 }')[0]!, /a kernel geneve device has a VNI, not a key; use vni: 5/);
  t.regex(kernel('ends:\n  sw1: { external: true }')[0]!, /external applies to kernel netdev ends, and end "sw1" of tunnel "tun0" is an OVS port/);
  t.regex(kernel('ends:\n  sw1: { mac: "02:00:00:00:00:09" }')[0]!, /an OVS tunnel port has no MAC address of its own/);
  t.regex(kernel('ends:\n  sw2: { local_ip: 192.0.2.12 }')[0]!, /a kernel geneve device has no local address/);
  t.regex(errs(ovsRecipe({ tunnel: 'family: ipv6\nends:\n  sw2: { udpcsum: true }' }))[0]!, /udpcsum applies to IPv4 tunnels only/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { udp6zerocsumrx: true }' }))[0]!, /udp6zerocsumrx applies to IPv6 tunnels only/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { vni: 6, key: 6 }' }))[0]!, /set either vni or key/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { df: inherit }' }))[0]!, /df: inherit is not possible on an OVS port/);
  t.regex(errs(ovsRecipe({ tunnel: 'df: inherit' }))[0]!, /tunnels\[0\]\.df: df: inherit is not possible on an OVS port/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { remote: 198.51.100.9 }' }))[0]!, /remote 198\.51\.100\.9 is not an address of any host in the lab/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { remote: 192.0.2.12 }' }))[0]!, /is an address of host "box-2" itself/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { remote: flow }' }))[0]!, /tunnels\[0\]\.ends\.sw2\.remote: remote flow .*switch "sw2" has no flows, so it would send nothing/);
  t.regex(errs(ovsRecipe({ tunnel: 'ovs: { remote_ip: flow }' }))[0]!, /tunnels\[0\]\.ovs\.remote_ip: remote \(ovs\.remote_ip\) flow makes end "sw1"/);
});

test('bug (issue 13): ovs.local_ip on the tunnel applied to both ends — now an error naming the end it is wrong for', (t) => {
  const e = errs(ovsRecipe({ tunnel: 'ovs: { local_ip: 192.0.2.11 }' }));
  t.is(e.length, 1, e.join('\n'));
  t.regex(e[0]!, /^22:22 tunnels\[0\]\.ovs\.local_ip: ovs\.local_ip 192\.0\.2\.11 applies to both ends, but it is not an address of host "box-2" \(end "sw2"\); it belongs to host "box-1"\. .*ends: \{ sw1: \{ local_ip: 192\.0\.2\.11 \} \}/);
  // Per end it is right, and the other end sends to it.
  const l = lab(ovsRecipe({ tunnel: 'ends:\n  sw1: { local_ip: 192.0.2.11 }' }));
  t.is(l.tunnels[0]!.ends[0]!.local, '192.0.2.11');
  t.is(l.tunnels[0]!.ends[1]!.remote, '192.0.2.11');
  const wrong = errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { local_ip: 192.0.2.11 }' }));
  t.regex(wrong[0]!, /local_ip 192\.0\.2\.11 is not an address of host "box-2" \(end "sw2" of tunnel "tun0"\); it belongs to host "box-1"/);
  t.regex(errs(ovsRecipe({ tunnel: 'ends:\n  sw2: { local_ip: "2001:db8::12" }' }))[0]!, /is ipv6 and this tunnel runs over ipv4/);
  // With only one OVS end, the tunnel-wide value is that end's and may be its address.
  t.deepEqual(errs(ovsRecipe({ kind2: 'bridge', tunnel: 'ovs: { local_ip: 192.0.2.11 }' })), []);
});

test('bug (issue 13): two external geneve ends on one host and port — refused at validation with the reason', (t) => {
  const text = `lab: t
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
  - { name: box-3, interfaces: [{ ipv4: 192.0.2.13/24 }] }
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
  - { name: sw3, host: box-3 }
tunnels:
  - { name: a, between: [sw1, sw2], vni: 1, external: true }
  - { name: b, between: [sw1, sw3], vni: 2, external: true }
`;
  const e = errs(text);
  t.is(e.length, 1, e.join('\n'));
  t.regex(e[0]!, /^12:55 tunnels\[1\]\.external: tunnel "b" and tunnel "a" would share UDP port 6081 with two external Geneve devices on host "box-1"; the kernel refuses the second one/);
  // Another port per end is the fix.
  t.deepEqual(errs(text.replace('vni: 2, external: true }', 'vni: 2, external: true, ends: { sw1: { dstport: 6082 }, sw3: { dstport: 6082 } } }')), []);
  // External next to a plain device on the same port: EPERM, also refused.
  t.regex(errs(text.replace('vni: 2, external: true', 'vni: 2'))[0]!, /share UDP port 6081 with an external \(collect-metadata\) Geneve device/);
  // Two plain devices with the same VNI to the same peer.
  const dup = text.replace('vni: 1, external: true', 'vni: 1').replace('{ name: b, between: [sw1, sw3], vni: 2, external: true }', '{ name: b, between: [sw1, sw2], vni: 1 }');
  t.regex(errs(dup)[0]!, /both be Geneve devices with VNI 1 to remote 192\.0\.2\.12/);
  // VXLAN (checked on this machine's kernel): a VNI is unique per port and family, whatever the remote.
  const vx = text.replace(/external: true \}/g, 'type: vxlan }').replace('vni: 2, type: vxlan', 'vni: 1, type: vxlan');
  t.regex(errs(vx)[0]!, /tunnel "b" and tunnel "a" would both be VXLAN devices with VNI 1 on UDP port 4789 over ipv4 on host "box-1"/);
  t.regex(errs(text.replace(/external: true \}/g, 'external: true, type: vxlan }'))[0]!, /both be external \(collect-metadata\) VXLAN devices/);
  // A per-end VNI is what clashes: the error points at it.
  const perEnd = text.replace('vni: 1, external: true', 'vni: 1').replace('{ name: b, between: [sw1, sw3], vni: 2, external: true }', '{ name: b, between: [sw1, sw2], vni: 2, ends: { sw1: { vni: 1 } } }');
  t.regex(errs(perEnd)[0]!, /tunnels\[1\]\.ends\.sw1\.vni: tunnel "b" and tunnel "a" would both be Geneve devices with VNI 1/);
});

test('bug (issue 14): zero-length options — accepted for OVS ends, refused with the kernel\'s reason where tc would carry them', (t) => {
  t.deepEqual(errs(ovsRecipe({ tunnel: 'options: [{ class: 0xffff, type: 1 }, { class: 0xffff, type: 2, data: "" }]' })), []);
  const l = lab(ovsRecipe({ tunnel: 'options: [{ class: 0xffff, type: 1 }]' }));
  t.deepEqual(l.tunnels[0]!.options, [{ class: 0xffff, type: 1, data: '' }]);
  const ext = errs(ovsRecipe({ kind2: 'bridge', tunnel: 'external: true\noptions: [{ class: 0xffff, type: 1 }]' }));
  t.is(ext.length, 1, ext.join('\n'));
  t.regex(ext[0]!, /tunnels\[0\]\.options\[0\]: an option without data .* external kernel device driven by tc, and the kernel's tunnel_key action and flower classifier need 4\.\.128 bytes .*"Tunnel key geneve option data is less than 4 bytes long"/);
  // The same option only on the OVS end's own list, where the kernel end need not accept it... it must: the peer sends it.
  t.regex(errs(ovsRecipe({ kind2: 'bridge', tunnel: 'external: true\nends:\n  sw1: { options: [{ class: 0xffff, type: 1 }] }' }))[0]!, /tunnels\[0\]\.ends\.sw1\.options\[0\]: an option without data/);
});

test('ends sharing one OVS port must be flow-based and agree on type, port and key', (t) => {
  const hub = (endA: string, endB: string) => `lab: t
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
  - { name: hub, interfaces: [{ ipv4: 192.0.2.10/24 }] }
switches:
  - { name: s1, host: h1, kind: ovs }
  - { name: s2, host: h2, kind: ovs }
  - { name: hs, host: hub, kind: ovs, flows: ["actions=drop"] }
tunnels:
  - { name: a, between: [s1, hs], vni: 1, ends: { hs: ${endA} } }
  - { name: b, between: [s2, hs], vni: 2, ends: { hs: ${endB} } }
`;
  const ok = lab(hub('{ port: gnv, remote: flow, key: flow }', '{ port: gnv, remote: flow, key: flow }'));
  t.deepEqual(ok.tunnels.map((x) => x.ends[1]!.ifname), ['gnv', 'gnv']);
  t.regex(errs(hub('{ port: gnv }', '{ port: gnv }'))[0]!, /share port "gnv" on switch "hs": .*set remote: flow on each of these ends/);
  t.regex(errs(hub('{ port: gnv, remote: flow }', '{ port: gnv, remote: flow }')).join('\n'), /shared by tunnels with different keys \("a": 1, "b": 2\); set key: flow/);
  t.regex(errs(hub('{ port: gnv, remote: flow, key: flow }', '{ port: gnv, remote: flow, key: flow, dstport: 7000 }')).join('\n'), /shared by tunnels of different type or UDP port/);
});

test('df also takes booleans (false = unset, true = set)', (t) => {
  t.is(lab(ovsRecipe({ tunnel: 'df: false' })).tunnels[0]!.geneve!.df, 'unset');
  t.is(lab(ovsRecipe({ tunnel: 'df: true' })).tunnels[0]!.geneve!.df, 'set');
  t.regex(errs(ovsRecipe({ tunnel: 'df: maybe' }))[0]!, /not a valid df; use unset, set, inherit, or false\/true/);
});

test('a tlv_map entry that the tunnel-option convenience also maps (switch without flows) is refused', (t) => {
  const e = errs(ovsRecipe({ sw1: 'tlv_map: [{ class: 0xffff, type: 1, len: 4, field: tun_metadata0 }]', tunnel: 'options: [{ class: 0xffff, type: 1, data: "0000000a" }]' }));
  t.is(e.length, 1, e.join('\n'));
  t.regex(e[0]!, /switches\[0\]\.tlv_map\[0\]: option class 0xffff type 0x1 is bound here and also used by the options of tunnel "tun0"/);
  t.deepEqual(errs(ovsRecipe({ sw1: 'tlv_map: [{ class: 0xffff, type: 2, len: 4, field: tun_metadata0 }]', tunnel: 'options: [{ class: 0xffff, type: 1, data: "0000000a" }]' })), []);
  t.deepEqual(errs(ovsRecipe({ sw1: 'tlv_map: [{ class: 0xffff, type: 1, len: 4, field: tun_metadata0 }]\nflows: ["actions=normal"]', tunnel: 'options: [{ class: 0xffff, type: 1, data: "0000000a" }]' })), []);
});

test('geneve-lab schema covers the new keys (switch programs, ends)', async (t) => {
  const { recipeJsonSchema } = await import('../../../lib/recipe/schema.js');
  const s = recipeJsonSchema() as { properties: Record<string, { items: { properties: Record<string, unknown> } }> };
  const sw = s.properties.switches!.items.properties;
  for (const k of ['mac', 'fail_mode', 'protocols', 'openflow', 'tlv_map', 'flows', 'groups', 'meters']) t.truthy(sw[k], `switches[].${k}`);
  const tun = s.properties.tunnels!.items.properties;
  const ends = JSON.stringify(tun.ends);
  for (const k of ['vni', 'key', 'in_key', 'out_key', 'dstport', 'local_ip', 'remote', 'external', 'udpcsum', 'udp_csum', 'udp6zerocsumtx', 'udp6zerocsumrx', 'tos', 'ttl', 'df', 'options', 'mac', 'port'])
    t.true(ends.includes(`"${k}"`), `tunnels[].ends.*.${k}`);
});
