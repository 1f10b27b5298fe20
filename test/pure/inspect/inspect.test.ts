/** status LAB's inspect view: interfaces parsed from `ip -j -d addr`, tunnels with what the system reports, the text form. */
import test from 'ava';
import { twoSwitchLab } from './fixture.js';
import { formatInspect, inspectLab, nodePlaces, parseIpAddr, tunnelViews } from '../../../lib/inspect/inspect.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';

const lab = twoSwitchLab('tbi', 'type: vxlan, vni: 42, dstport: 4790', { secondGuest: false });

const IP_ADDR = JSON.stringify([
  { ifname: 'lo', operstate: 'UNKNOWN', mtu: 65536, address: '00:00:00:00:00:00', addr_info: [{ local: '127.0.0.1', prefixlen: 8 }] },
  { ifname: 'eth0', operstate: 'UP', mtu: 1450, address: '02:00:00:00:00:01', linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet', local: '203.0.113.1', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] },
  { ifname: 't1', operstate: 'UNKNOWN', mtu: 1450, address: '02:00:00:00:00:02', master: 'br2', linkinfo: { info_kind: 'vxlan', info_data: { id: 42, remote: '192.0.2.1', port: 4790 } }, addr_info: [] },
]);

test('ip -j -d addr: each interface with its addresses, MTU, MAC, state, kind; tunnel attributes kept; lo left out', (t) => {
  const ifs = parseIpAddr(IP_ADDR);
  t.deepEqual(ifs.map((i) => i.ifname), ['eth0', 't1']);
  t.deepEqual(ifs[0], { ifname: 'eth0', kind: 'veth', state: 'UP', mtu: 1450, mac: '02:00:00:00:00:01', addresses: ['203.0.113.1/24', 'fe80::1/64'] });
  t.deepEqual(ifs[1]!.tunnel, { id: 42, remote: '192.0.2.1', port: 4790 });
  t.is(ifs[1]!.master, 'br2');
  t.deepEqual(parseIpAddr('not json'), []);
  t.deepEqual(parseIpAddr(''), []);
});

test('every node in its namespace: hosts with their switches, guests, the networks', (t) => {
  t.deepEqual(
    nodePlaces(lab).map((p) => [p.kind, p.node, p.ns, p.switches]),
    [
      ['host', 'h1', 'gl-tbi-h1', ['ovs1']],
      ['host', 'h2', 'gl-tbi-h2', ['br2']],
      ['guest', 'g1', 'gl-tbi-g1', undefined],
      ['network', 'underlay', 'gl-tbi--underlay', undefined],
    ],
  );
});

test('tunnels: type, VNI, port and each end with what the kernel or OVS reports', (t) => {
  const nodes = [{ node: 'h2', kind: 'host' as const, host: 'h2', ns: 'gl-tbi-h2', present: true, interfaces: parseIpAddr(IP_ADDR) }];
  const ovs = [{ host: 'h1', status: { bridges: [{ name: 'ovs1', datapathType: 'netdev', ports: [{ name: 't1', interfaces: [{ name: 't1', type: 'vxlan', options: { key: '42', remote_ip: '192.0.2.2', dst_port: '4790' }, ofport: 3, status: {} }] }] }], tunnels: [] } }];
  const [v] = tunnelViews(lab, nodes, ovs);
  t.like(v, { name: 't1', type: 'vxlan', vni: 42, dstport: 4790, family: 'ipv4' });
  t.like(v!.ends[0], { host: 'h1', impl: 'ovs', present: true, live: { type: 'vxlan', key: '42', remote_ip: '192.0.2.2', ofport: 3 } });
  t.like(v!.ends[1], { host: 'h2', impl: 'kernel', present: true, live: { id: 42, remote: '192.0.2.1', port: 4790 } });
  // Gone from the system: said so.
  t.false(tunnelViews(lab, [], [])[0]!.ends.some((e) => e.present));
  const text = formatInspect({ nodes, tunnels: [v!] });
  t.regex(text, /host h2 — netns gl-tbi-h2/);
  t.regex(text, /eth0 +veth +UP +mtu 1450 +02:00:00:00:00:01 203\.0\.113\.1\/24 fe80::1\/64/);
  t.regex(text, /t1: vxlan vni 42 port 4790 ipv4/);
  t.regex(text, /h1 +t1 \(ovs\) +192\.0\.2\.1 → 192\.0\.2\.2 +\[type=vxlan key=42 remote_ip=192\.0\.2\.2 dst_port=4790 ofport=3\]/);
});

test('inspectLab reads each present namespace with ip -j -d addr, and says which are missing', async (t) => {
  const asked: string[][] = [];
  const exec: Executor = {
    where: 'local',
    async run(argv): Promise<RunResult> {
      asked.push([...argv]);
      return { argv: [...argv], exitCode: 0, stdout: IP_ADDR, stderr: '', durationMs: 1, timedOut: false };
    },
    start: () => {
      throw new Error('not used');
    },
  };
  const v = await inspectLab(lab, () => exec, new Set(['gl-tbi-h1', 'gl-tbi-g1']));
  t.deepEqual(asked.map((a) => a[2]), ['gl-tbi-h1', 'gl-tbi-g1']);
  t.deepEqual(asked[0], ['ip', '-n', 'gl-tbi-h1', '-j', '-d', 'addr', 'show']);
  t.deepEqual(v.nodes.map((n) => n.present), [true, false, true, false]);
  t.regex(formatInspect(v), /host h2 — netns gl-tbi-h2 \(MISSING\)/);
});
