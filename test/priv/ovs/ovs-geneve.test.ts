/**
 * Real OVS daemons on the userspace datapath between two simulated hosts: geneve with ping
 * and iperf3 TCP, VNI on the wire, OVN option set by flows on the wire, cleanup.
 * Oracles: ping/iperf3 output, tcpdump+tshark, ip/ethtool, ovs-vsctl JSON read directly.
 */
import { existsSync } from 'node:fs';
import { privTest } from '../../support/priv.js';
import { optionFlows, ovnEncap, type OptionFlowSpec, type OwnedOvs } from '../../../lib/ovs/index.js';
import { applyOvsHost } from '../../../lib/ovs/index.js';
import { captureFields, daemonsUnder, iperfTcp, nsx, ping, sh, twoHosts } from './two-hosts.js';

const TOOLS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ethtool', 'iperf3', 'tcpdump', 'tshark'] };

privTest('ovs: geneve between two simulated hosts passes ping and iperf3 TCP; stop() leaves nothing', async (t) => {
  const lab = await twoHosts(t);
  const { a, b } = lab;

  // What the plumbing did, read with independent tools.
  t.is(JSON.parse(sh(['ip', '-n', a.guest, '-j', 'link', 'show', 'eth0']))[0].mtu, 1450, 'guest MTU = 1500 - 50');
  t.regex(nsx(a.guest, ['ethtool', '-k', 'eth0']), /^tx-checksumming: off/m);
  t.regex(sh(['ip', '-n', a.host, '-br', 'addr', 'show', 'br-phy']), /192\.0\.2\.1\/24/, 'underlay address moved to br-phy');
  t.notRegex(sh(['ip', '-n', a.host, '-br', 'addr', 'show', 'u1']), /192\.0\.2\.1/);
  const iface = JSON.parse(sh(['ovs-vsctl', `--db=unix:${a.ovs!.dbSocket}`, '--format=json', '--data=json', '--columns=type,options,error', 'list', 'Interface', 'tun0']));
  t.deepEqual(iface.data[0], ['geneve', ['map', [['remote_ip', '192.0.2.2']]], ['set', []]]);

  const routes = sh(['ovs-appctl', '-t', a.ovs!.paths.vswitchdCtl, 'ovs/route/show']);
  t.regex(routes, /192\.0\.2\.0\/24 dev br-phy/, 'OVS learnt the underlay route from the kernel');
  t.regex(routes, /User: 192\.0\.2\.2\/32 dev br-phy/, 'explicit tunnel route added with ovs/route/add');

  t.is(ping(a, b), 3, 'ping guest 1 → guest 2 over geneve');

  const r = await iperfTcp(a, b);
  t.log(`iperf3 TCP over geneve: ${r.mbps} Mbit/s, ${r.bytes} bytes received`);
  t.true(r.bytes > 1_000_000, `iperf3 TCP moved data (error: ${r.error ?? 'none'})`);

  // stop(): no daemon of ours, no run directory.
  for (const s of [a, b]) {
    const dir = s.ovs!.paths.runDir;
    await s.ovs!.stop();
    t.deepEqual(daemonsUnder(dir), [], `no OVS daemon of ${s.host} left`);
    t.false(existsSync(dir), `${dir} removed`);
    t.is(sh(['ip', '-n', s.host, '-br', 'link', 'show', 'br-int'], { allowFail: true }), '', 'vswitchd removed its taps');
    delete s.ovs;
  }
}, TOOLS);

privTest('ovs: key=5000 is visible on the wire as geneve VNI 5000', async (t) => {
  const { a, b } = await twoHosts(t, { tunnel: { key: 5000 } });
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
  const fwd = ovnEncap({ datapathKey: 1, ingress: 1, egress: 2 });
  const rev = ovnEncap({ datapathKey: 1, ingress: 2, egress: 1 });
  const flows = (send: typeof fwd, accept: typeof fwd): OptionFlowSpec[] => [
    { bridge: 'br-int', localPort: 20, tunnelPort: 10, send: send.options, accept: accept.options, vni: send.vni, cookie: 0x6c },
  ];
  const lab = await twoHosts(t, { tunnel: { key: 'flow' }, options: fwd.options, tunnelOfport: 10, guestOfport: 20, optionFlows: [flows(fwd, rev), flows(rev, fwd)] });
  const { a, b } = lab;
  t.is(lab.tunnelMtu, 1442, '1500 - 50 - 8 bytes of option');
  const reprogram = async (ovs: OwnedOvs, f: OptionFlowSpec[]) => {
    await ovs.ofctl(['del-flows', 'br-int', 'cookie=0x6c/-1']);
    for (const flow of f.flatMap(optionFlows)) await ovs.ofctl(['add-flow', 'br-int', flow]);
  };
  t.regex(await a.ovs!.ofctl(['dump-tlv-map', 'br-int']), /0x102\s+0x80\s+4\s+tun_metadata0/);

  let received = 0;
  const rows = await captureFields(
    b,
    'udp port 6081',
    ['ip.src', 'geneve.vni', 'geneve.option.class', 'geneve.option.type', 'geneve.option.unknown.data'],
    () => {
      received = ping(a, b);
    },
  );
  t.is(received, 3, 'ping passes with options set on egress and matched on ingress');
  const fromA = rows.filter((r) => r[0] === '192.0.2.1');
  const fromB = rows.filter((r) => r[0] === '192.0.2.2');
  t.true(fromA.length >= 3 && fromB.length >= 3, `captured ${fromA.length}/${fromB.length} packets`);
  const norm = (r: string[]) => [Number(r[1]), Number(r[2]), Number(r[3]), r[4]!.replace(/:/g, '')];
  t.deepEqual([...new Set(fromA.map((r) => JSON.stringify(norm(r))))], [JSON.stringify([1, 0x0102, 0x80, '00010002'])]);
  t.deepEqual([...new Set(fromB.map((r) => JSON.stringify(norm(r))))], [JSON.stringify([1, 0x0102, 0x80, '00020001'])]);

  // The ingress match is real: if host b expects another ingress key, traffic stops.
  await reprogram(b.ovs!, flows(rev, ovnEncap({ datapathKey: 1, ingress: 3, egress: 2 })));
  t.is(ping(a, b, 2), 0, 'packets with unexpected option data are dropped on ingress');
}, TOOLS);

for (const [type, port] of [['vxlan', 'udp port 4789'], ['gre', 'ip proto 47']] as const) {
  privTest(`ovs: ${type} key 123 between two simulated hosts passes ping and iperf3 TCP (seed 003)`, async (t) => {
    const { a, b, tunnelMtu } = await twoHosts(t, { tunnel: { type, key: 123 } });
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

privTest('ovs: without tx checksum offload off in the guests, ping passes but TCP dies (why the plumbing sets it)', async (t) => {
  const { a, b } = await twoHosts(t, { keepTxChecksum: true });
  t.regex(nsx(a.guest, ['ethtool', '-k', 'eth0']), /^tx-checksumming: on/m);
  t.is(ping(a, b), 3);
  const r = await iperfTcp(a, b, 2);
  t.log(`iperf3 with tx offload on: ${r.bytes} bytes, error: ${r.error ?? 'none'}`);
  t.true(r.bytes < 100_000, 'TCP does not get through');
}, TOOLS);

privTest('ovs: seed 000 — an underlay bridge (br0 in the seed, br-phy here) and br1 with a geneve port; ping between the br1 addresses', async (t) => {
  const lab = await twoHosts(t); // guests unused here; the seed pings between bridge addresses
  const { a, b } = lab;
  for (const [s, peer, addr] of [[a, b, '198.51.100.1/24'], [b, a, '198.51.100.2/24']] as const) {
    await applyOvsHost(s.ovs!, {
      lab: lab.lab,
      ns: s.host,
      datapath: 'netdev',
      bridges: [{ name: 'br1', addresses: [addr] }],
      tunnels: [{ bridge: 'br1', name: 'geneve1', type: 'geneve', remoteIp: peer.underlayIp, key: 77 }],
    });
  }
  const out = nsx(a.host, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.2'], { allowFail: true, timeout: 20000 });
  t.regex(out, / 3 received/);
  const st = await a.ovs!.status();
  t.deepEqual(st.bridges.map((x) => x.name), ['br-int', 'br-phy', 'br1']);
  t.deepEqual(st.bridges.find((x) => x.name === 'br1')!.ports.map((p) => p.name), ['br1', 'geneve1']);
}, TOOLS);

privTest('ovs: tunnel options reach the wire — dst_port 7000, ttl 33, tos 0x28, df_default=false, csum=true, VNI 77', async (t) => {
  const { a, b } = await twoHosts(t, { tunnel: { key: 77, dstPort: 7000, ttl: 33, tos: 0x28, dfDefault: false, csum: true } });
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
