/**
 * Real OVS daemons on the userspace datapath between two simulated hosts, built by the engine
 * from a recipe (planner + OVS runner): geneve with ping and iperf3 TCP, VNI on the wire, OVN
 * option set by flows on the wire and matched on ingress, tunnel options on the wire, down.
 * Oracles: ping/iperf3 output, tcpdump+tshark, ip/ethtool, ovs-vsctl JSON read directly.
 */
import { existsSync } from 'node:fs';
import { privTest } from '../../support/priv.js';
import { netnsList } from '../../support/oracle.js';
import { optionFlows, ovnOption } from '../../../lib/ovs/index.js';
import { captureFields, daemonsUnder, iperfTcp, nsx, ping, sh, twoHosts } from './two-hosts.js';

const TOOLS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'ethtool', 'iperf3', 'tcpdump', 'tshark'] };

privTest('ovs: geneve between two simulated hosts passes ping and iperf3 TCP; down leaves nothing', async (t) => {
  const lab = await twoHosts(t);
  const { a, b } = lab;

  // What the planner's plumbing did, read with independent tools.
  t.is(JSON.parse(sh(['ip', '-n', a.guest, '-j', 'link', 'show', 'eth0']))[0].mtu, 1450, 'guest MTU = 1500 - 50');
  t.regex(nsx(a.guest, ['ethtool', '-k', 'eth0']), /^tx-checksumming: off/m);
  t.regex(sh(['ip', '-n', a.host, '-br', 'addr', 'show', a.underlayBridge]), /192\.0\.2\.1\/24/, `underlay address on ${a.underlayBridge}`);
  t.notRegex(sh(['ip', '-n', a.host, '-br', 'addr', 'show', a.underlayIf]), /192\.0\.2\.1/);
  const iface = JSON.parse(sh(['ovs-vsctl', `--db=unix:${a.paths.dbSocket}`, '--format=json', '--data=json', '--columns=type,options,error', 'list', 'Interface', a.tunnelPort]));
  t.deepEqual(iface.data[0], ['geneve', ['map', [['remote_ip', '192.0.2.2']]], ['set', []]]);

  const routes = sh(['ovs-appctl', '-t', a.paths.vswitchdCtl, 'ovs/route/show']);
  t.regex(routes, new RegExp(`192\\.0\\.2\\.0/24 dev ${a.underlayBridge}`), 'OVS learnt the underlay route from the kernel');

  t.is(ping(a, b), 3, 'ping guest 1 → guest 2 over geneve');

  const r = await iperfTcp(a, b);
  t.log(`iperf3 TCP over geneve: ${r.mbps} Mbit/s, ${r.bytes} bytes received`);
  t.true(r.bytes > 1_000_000, `iperf3 TCP moved data (error: ${r.error ?? 'none'})`);

  // down: no daemon of ours, no run directory, no namespace.
  const down = await lab.engine.down(lab.lab);
  t.deepEqual(down.failures, []);
  for (const s of [a, b]) {
    t.deepEqual(daemonsUnder(s.paths.runDir), [], `no OVS daemon of ${s.host} left`);
    t.false(existsSync(s.paths.runDir), `${s.paths.runDir} removed`);
  }
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab.lab}-`)), [], 'no namespace of the lab left');
}, TOOLS);

privTest('ovs: vni 5000 is visible on the wire as geneve VNI 5000', async (t) => {
  const { a, b } = await twoHosts(t, { tunnel: 'type: geneve, vni: 5000' });
  let received = 0;
  const rows = await captureFields(b, 'udp port 6081', ['ip.src', 'geneve.vni'], () => {
    received = ping(a, b);
  });
  t.is(received, 3);
  t.true(rows.length >= 6, `captured ${rows.length} geneve packets`);
  t.deepEqual([...new Set(rows.map((r) => Number(r[1])))], [5000]);
  t.deepEqual([...new Set(rows.map((r) => r[0]))].sort(), ['192.0.2.1', '192.0.2.2']);
}, TOOLS);

privTest('ovs: OVN option (class 0x0102 type 0x80, ingress 1 / egress 2) set by flows is on the wire and matched on ingress', async (t) => {
  const lab = await twoHosts(t, { tunnel: 'type: geneve, vni: 1, ovn: { ingress: 1, egress: 2 }' });
  const { a, b } = lab;
  t.is(lab.tunnelMtu, 1442, '1500 - 50 - 8 bytes of option');
  t.regex(await a.ovs.ofctl(['dump-tlv-map', a.switch]), /0x102\s+0x80\s+4\s+tun_metadata0/);

  let received = 0;
  const rows = await captureFields(
    b,
    'udp port 6081',
    ['ip.src', 'geneve.vni', 'geneve.option.class', 'geneve.option.type', 'geneve.option.unknown.data'],
    () => {
      received = ping(a, b);
    },
    // No display filter: EVERY packet in the tunnel must carry the option, including what the
    // switch's own (addressless) port would send — the planner keeps that out of the tunnel.
  );
  t.is(received, 3, 'ping passes with options set on egress and matched on ingress');
  const fromA = rows.filter((r) => r[0] === '192.0.2.1');
  const fromB = rows.filter((r) => r[0] === '192.0.2.2');
  t.true(fromA.length >= 3 && fromB.length >= 3, `captured ${fromA.length}/${fromB.length} packets`);
  const norm = (r: string[]) => [Number(r[1]), Number(r[2]), Number(r[3]), r[4]!.replace(/:/g, '')];
  t.deepEqual([...new Set(fromA.map((r) => JSON.stringify(norm(r))))], [JSON.stringify([1, 0x0102, 0x80, '00010002'])]);
  t.deepEqual([...new Set(fromB.map((r) => JSON.stringify(norm(r))))], [JSON.stringify([1, 0x0102, 0x80, '00020001'])]);

  // The ingress match is real: if host b expects another ingress key, traffic stops. Its
  // flows from the tunnel are replaced by ones (made by the planner's flow builder) that
  // accept only ingress 3 / egress 2.
  await b.ovs.ofctl(['del-flows', b.switch, `in_port=${b.tunnelPort}`]);
  for (const flow of optionFlows({ bridge: b.switch, localPort: b.guestPort, tunnelPort: b.tunnelPort, send: [ovnOption(2, 1)], accept: [ovnOption(3, 2)] }))
    await b.ovs.ofctl(['add-flow', b.switch, flow]);
  t.regex(await b.ovs.ofctl(['dump-flows', b.switch]), /tun_metadata0=0x30002/, 'host b now expects ingress 3 / egress 2');
  t.is(ping(a, b, 2), 0, 'packets with unexpected option data are dropped on ingress');
}, TOOLS);

for (const [type, port, tunnel] of [
  ['vxlan', 'udp port 4789', 'type: vxlan, vni: 123'],
  ['gre', 'ip proto 47', 'type: gre, key: 123'],
] as const) {
  privTest(`ovs: ${type} key 123 between two simulated hosts passes ping and iperf3 TCP (seed 003)`, async (t) => {
    const { a, b, tunnelMtu } = await twoHosts(t, { tunnel });
    t.is(tunnelMtu, type === 'vxlan' ? 1450 : 1458);
    let received = 0;
    const fields = type === 'vxlan' ? ['vxlan.vni'] : ['gre.key'];
    const rows = await captureFields(b, port, fields, () => {
      received = ping(a, b);
    });
    t.is(received, 3);
    t.deepEqual([...new Set(rows.map((r) => Number(r[0])))], [123], `${type} key 123 on the wire`);
    const r = await iperfTcp(a, b);
    t.log(`iperf3 TCP over ${type}: ${r.mbps} Mbit/s`);
    t.true(r.bytes > 1_000_000, `iperf3 TCP moved data (error: ${r.error ?? 'none'})`);
  }, TOOLS);
}

privTest('ovs: without tx checksum offload off in the guests (offload.tx: true), ping passes but TCP dies (why the planner turns it off)', async (t) => {
  const { a, b } = await twoHosts(t, { keepTxChecksum: true });
  t.regex(nsx(a.guest, ['ethtool', '-k', 'eth0']), /^tx-checksumming: on/m);
  t.is(ping(a, b), 3);
  const r = await iperfTcp(a, b, 2);
  t.log(`iperf3 with tx offload on: ${r.bytes} bytes, error: ${r.error ?? 'none'}`);
  t.true(r.bytes < 100_000, 'TCP does not get through');
}, TOOLS);

privTest('ovs: seed 000 — an underlay bridge and an OVS switch with an address and a geneve port; ping between the switch addresses', async (t) => {
  const { a } = await twoHosts(t, { guests: false, switchAddresses: ['198.51.100.1/24', '198.51.100.2/24'], tunnel: 'type: geneve, vni: 77' });
  const out = nsx(a.host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.2'], { allowFail: true, timeout: 20000 });
  t.regex(out, / 3 received/);
  const st = await a.ovs.status();
  t.deepEqual(st.bridges.map((x) => x.name), [a.underlayBridge, a.switch].sort());
  t.deepEqual(st.bridges.find((x) => x.name === a.switch)!.ports.map((p) => p.name), [a.switch, a.tunnelPort].sort());
  t.is(st.bridges.find((x) => x.name === a.switch)!.ports.find((p) => p.name === a.tunnelPort)!.interfaces[0]!.options.key, '77');
}, TOOLS);

privTest('ovs: tunnel options reach the wire — dstport 7000, ttl 33, tos 0x28, ovs.df_default=false, ovs.csum=true, VNI 77', async (t) => {
  const { a, b } = await twoHosts(t, { tunnel: 'type: geneve, vni: 77, dstport: 7000, ttl: 33, tos: 0x28, ovs: { df_default: false, csum: true }' });
  let received = 0;
  const rows = await captureFields(
    b,
    'udp port 7000',
    ['ip.src', 'ip.ttl', 'ip.dsfield', 'ip.flags.df', 'udp.checksum', 'geneve.vni'],
    () => {
      received = ping(a, b);
    },
    ['-d', 'udp.port==7000,geneve'],
  );
  t.is(received, 3);
  const fromA = rows.filter((r) => r[0] === '192.0.2.1');
  t.true(fromA.length >= 3, `captured ${fromA.length} packets from host 1`);
  for (const r of fromA) {
    t.is(Number(r[1]), 33, 'ttl');
    t.is(Number(r[2]) & 0xfc, 0x28, 'tos (DSCP bits; ECN is inherited)');
    t.true(r[3] === '0' || r[3] === 'False', `DF clear (df_default=false), tshark printed ${r[3]}`);
    t.not(Number(r[4]), 0, 'UDP checksum present (csum=true)');
    t.is(Number(r[5]), 77, 'VNI');
  }
}, TOOLS);
