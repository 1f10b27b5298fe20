/**
 * Planning routed topologies (issue 14, items 6–8): routers, host routes, tunnels inside tunnels,
 * link tuning — and what the two backends make of the new operations (iproute2 argv, netlink bytes,
 * ethtool's answers read from real output).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { loadRecipeFile, loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import type { Op, Step } from '../../../lib/plan/ops.js';
import { commandArgv, renderOp, renderShell } from '../../../lib/backends/iproute2/render.js';
import { linkSetMessage } from '../../../lib/backends/netlink/encode.js';
import { ethtoolKRefusal, nftRulesArgv } from '../../../lib/backends/tools.js';
import { NFT } from '../../../lib/plan/nft.js';
import { parseEthtoolFeatures } from '../../../lib/engine/offload-status.js';
import { tunnelsOuterFirst } from '../../../lib/model/topology.js';

const recipe = (f: string) => new URL(`../../../recipes/${f}`, import.meta.url).pathname;
const fixture = (f: string) => readFileSync(new URL(`../../fixtures/tools/${f}`, import.meta.url), 'utf8');
const ops = (steps: Step[], name: Op['op']) => steps.filter((s) => s.op.op === name);

test('routers: a tagged namespace the lab owns, forwarding and no ICMP rate limit or DAD before any link, a veth into each network', async (t) => {
  const { lab } = await loadRecipeFile(recipe('pmtu-router.yaml'));
  const plan = planLab(lab);
  t.true(plan.namespaces.includes('gl-pmtu-router-r1') && plan.namespaces.includes('gl-pmtu-router-r2'));
  const r1 = plan.steps.filter((s) => s.subject.startsWith('router "r1"'));
  t.deepEqual(r1[0]!.op, { op: 'netns.add', ns: 'gl-pmtu-router-r1', tag: 'geneve-lab:pmtu-router' });
  t.deepEqual(
    r1.slice(1, 7).map((s) => (s.op.op === 'sysctl.set' ? `${s.op.key}=${s.op.value}` : s.op.op)),
    ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0'],
  );
  const veths = r1.filter((s) => s.op.op === 'link.add').map((s) => (s.op as Extract<Op, { op: 'link.add' }>).link);
  t.deepEqual(veths.map((l) => [l.name, l.mtu, l.kind === 'veth' ? [l.peer.name, l.peer.ns, l.peer.mtu] : []]), [
    ['west', 9000, ['r1', 'gl-pmtu-router--west', 9000]],
    ['middle', 4000, ['r1', 'gl-pmtu-router--middle', 4000]],
  ]);
  t.deepEqual(
    r1.filter((s) => s.op.op === 'route.add').map((s) => s.op),
    [
      { op: 'route.add', ns: 'gl-pmtu-router-r1', to: '192.0.2.128/26', via: '192.0.2.66' },
      { op: 'route.add', ns: 'gl-pmtu-router-r1', to: '2001:db8:3::/64', via: '2001:db8:2::2' },
    ],
  );
  t.is(ops(plan.steps, 'nft.rules').length, 0, 'icmp_too_big: send adds no firewall rule');
  // Everything owned: no explicit undo needed; down removes the namespaces.
  for (const s of r1) t.is(s.undo, s.op.op === 'netns.add' ? s.undo : null);
});

test('icmp_too_big: drop is one nft.rules step inside the router namespace, never the root', async (t) => {
  const { lab } = await loadRecipeFile(recipe('pmtu-blackhole.yaml'));
  const nft = ops(planLab(lab).steps, 'nft.rules');
  t.deepEqual(nft.map((s) => (s.op as { ns: string }).ns), ['gl-pmtu-blackhole-r1', 'gl-pmtu-blackhole-r2']);
  const nftBin = NFT.join(' ');
  t.deepEqual(renderOp(nft[0]!.op).map(commandArgv).map((a) => [...a.slice(0, 4), a.slice(4, 7).join(' '), ...a.slice(7)]), [
    ['ip', 'netns', 'exec', 'gl-pmtu-blackhole-r1', nftBin, 'add', 'table', 'inet', 'geneve_lab'],
    ['ip', 'netns', 'exec', 'gl-pmtu-blackhole-r1', nftBin, 'add', 'chain', 'inet', 'geneve_lab', 'icmp_too_big', '{ type filter hook output priority 0 ; }'],
    ['ip', 'netns', 'exec', 'gl-pmtu-blackhole-r1', nftBin, 'add', 'rule', 'inet', 'geneve_lab', 'icmp_too_big', 'icmp', 'type', 'destination-unreachable', 'icmp', 'code', 'frag-needed', 'counter', 'drop'],
    ['ip', 'netns', 'exec', 'gl-pmtu-blackhole-r1', nftBin, 'add', 'rule', 'inet', 'geneve_lab', 'icmp_too_big', 'icmpv6', 'type', 'packet-too-big', 'counter', 'drop'],
  ]);
  t.deepEqual(nftRulesArgv(nft[1]!.op as Extract<Op, { op: 'nft.rules' }>)[0], [...NFT, 'add', 'table', 'inet', 'geneve_lab']);
});

test('nft is the system\'s, never a node_modules/.bin one (ava brings @vercel/nft\'s `nft` onto an npx PATH)', (t) => {
  // env with a PATH of system directories only: the same argv locally, in a namespace and over SSH.
  t.deepEqual(NFT.slice(0, 2), ['env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.false(NFT[1]!.includes('node_modules'));
});

test('host routes come after the host\'s addresses; guests and jumbo tunnels get the first hop\'s overlay MTU', async (t) => {
  const { lab } = await loadRecipeFile(recipe('pmtu-router.yaml'));
  const steps = planLab(lab).steps;
  const lastAddr = Math.max(...steps.filter((s) => s.op.op === 'addr.add' && s.op.ns === 'gl-pmtu-router-box-1').map((s) => s.id));
  const routes = steps.filter((s) => s.op.op === 'route.add' && s.op.ns === 'gl-pmtu-router-box-1');
  t.deepEqual(routes.map((s) => s.op), [
    { op: 'route.add', ns: 'gl-pmtu-router-box-1', to: 'default', via: '192.0.2.1' },
    { op: 'route.add', ns: 'gl-pmtu-router-box-1', to: 'default', via: '2001:db8:1::1' },
  ]);
  t.true(routes.every((s) => s.id > lastAddr));
  const linkOf = (ns: string, name: string) => steps.map((s) => s.op).find((o): o is Extract<Op, { op: 'link.add' }> => o.op === 'link.add' && o.ns === ns && o.link.name === name)!.link;
  t.is(linkOf('gl-pmtu-router-left', 'eth0').mtu, 8950);
  t.is(linkOf('gl-pmtu-router-left6', 'eth0').mtu, 8930);
  t.like(linkOf('gl-pmtu-router-box-1', 'tun4'), { mtu: 8950, kind: 'vxlan', vxlan: { local: '192.0.2.11', remote: '192.0.2.140', df: 'inherit' } });
  t.like(linkOf('gl-pmtu-router-box-1', 'tun6'), { mtu: 8930, vxlan: { local: '2001:db8:1::11', remote: '2001:db8:3::12' } });
  // On a 1500-byte underlay nothing changes: the device keeps the kernel's default.
  const { lab: plain } = await loadRecipeFile(recipe('routed-vxlan.yaml'));
  t.is(planLab(plain).steps.map((s) => s.op).find((o): o is Extract<Op, { op: 'link.add' }> => o.op === 'link.add' && o.link.kind === 'vxlan')!.link.mtu, undefined);
});

test('on the userspace OVS datapath a route through the underlay NIC goes through the bridge that took it over', (t) => {
  const text = readFileSync(recipe('pmtu-router.yaml'), 'utf8')
    .replace(/\{ name: (sw\d-v\d), host: (box-\d) \}/g, '{ name: $1, host: $2, kind: ovs }')
    .replace(/type: vxlan/g, 'type: geneve')
    // OVS ports set DF from df_default: inherit is the kernel device's alone.
    .replace(', df: inherit', '')
    .replace('routes:\n      - { to: default, via: 192.0.2.1 }', 'routes:\n      - { to: default, via: 192.0.2.1, dev: west }');
  const { lab } = loadRecipeText(text, 'ovs.yaml');
  const steps = planLab(lab, { autoDatapath: 'netdev' }).steps;
  const routes = steps.filter((s) => s.op.op === 'route.add' && s.op.ns === 'gl-pmtu-router-box-1');
  t.deepEqual(routes.map((s) => s.op), [
    { op: 'route.add', ns: 'gl-pmtu-router-box-1', to: 'default', via: '192.0.2.1', dev: 'br-west' },
    { op: 'route.add', ns: 'gl-pmtu-router-box-1', to: 'default', via: '2001:db8:1::1' },
  ]);
  const bridgeAddr = steps.find((s) => s.op.op === 'addr.add' && s.op.ns === 'gl-pmtu-router-box-1' && s.op.dev === 'br-west')!;
  t.true(bridgeAddr.id < routes[0]!.id, 'the route follows the address on the bridge');
});

test('a tunnel inside another is planned after it, whatever the recipe order', (t) => {
  const text = readFileSync(recipe('tunnel-in-tunnel.yaml'), 'utf8');
  const swapped = text.replace(/( {2}- \{ name: outer[^\n]*\n)( {2}# [^\n]*\n)( {2}- \{ name: inner[^\n]*\n)/, '$2$3$1');
  if (swapped === text) throw new Error('could not reorder the tunnels');
  const { lab } = loadRecipeText(swapped, 'x.yaml');
  t.deepEqual(lab.tunnels.map((x) => x.name), ['inner', 'outer']);
  t.deepEqual(tunnelsOuterFirst(lab.tunnels).map((x) => x.name), ['outer', 'inner']);
  const adds = planLab(lab).steps.filter((s) => s.op.op === 'link.add' && s.op.link.kind === 'vxlan').map((s) => (s.op as Extract<Op, { op: 'link.add' }>).link);
  t.deepEqual(adds.map((l) => l.name), ['outer', 'outer', 'inner', 'inner']);
  t.like(adds[2], { vxlan: { vni: 43, dstport: 4790, local: '198.51.100.1', remote: '198.51.100.2' } });
  // The guests get what both encapsulations leave: 1500 − 50 − 50.
  t.is(planLab(lab).steps.map((s) => s.op).find((o): o is Extract<Op, { op: 'link.add' }> => o.op === 'link.add' && o.ns.endsWith('-left'))!.link.mtu, 1400);
});

const tuned = `lab: tuned
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, offloads: { tso: off }, gso_max_size: 16384, gro_max_size: 32768 }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24 }]
routers:
  - { name: r1, interfaces: [{ ipv4: 192.0.2.1/24, offloads: { gro: on } }] }
switches:
  - { name: sw1, host: box-1, offloads: { tx-udp_tnl-segmentation: off } }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24], offload: { tx: false }, offloads: { gro: off }, gro_max_size: 65536 }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 7, gso_max_size: 32768 }
checks:
  - ping: { from: left, to: right }
`;

test('link tuning: one offload.set and one link.set per tuned interface, after every link exists; OVS ports are left out', (t) => {
  const { lab } = loadRecipeText(tuned, 'tuned.yaml');
  const steps = planLab(lab, { autoDatapath: 'netdev' }).steps;
  const lastLink = Math.max(...steps.filter((s) => s.op.op === 'link.add' || s.op.op === 'ovs.tunnel').map((s) => s.id));
  const tuning = steps.filter((s) => / (offloads|GSO\/GRO sizes)$/.test(s.subject));
  t.true(tuning.every((s) => s.id > lastLink));
  t.deepEqual(tuning.map((s) => [s.subject, s.op]), [
    ['host "box-1" interface "underlay" offloads', { op: 'offload.set', ns: 'gl-tuned-box-1', dev: 'underlay', features: { tso: false } }],
    ['host "box-1" interface "underlay" GSO/GRO sizes', { op: 'link.set', ns: 'gl-tuned-box-1', name: 'underlay', gsoMaxSize: 16384, groMaxSize: 32768 }],
    ['router "r1" interface "underlay" offloads', { op: 'offload.set', ns: 'gl-tuned-r1', dev: 'underlay', features: { gro: true } }],
    ['switch "sw1" offloads', { op: 'offload.set', ns: 'gl-tuned-box-1', dev: 'sw1', features: { 'tx-udp_tnl-segmentation': false } }],
    ['guest "left" offloads', { op: 'offload.set', ns: 'gl-tuned-left', dev: 'eth0', features: { gro: false } }],
    ['guest "left" GSO/GRO sizes', { op: 'link.set', ns: 'gl-tuned-left', name: 'eth0', groMaxSize: 65536 }],
    // box-2's end is an OVS port (no kernel device): only box-1's kernel device is tuned.
    ['tunnel "tun0" on host "box-1" GSO/GRO sizes', { op: 'link.set', ns: 'gl-tuned-box-1', name: 'tun0', gsoMaxSize: 32768 }],
  ]);
  // The guest's older offload: still applies (its own step, as before).
  t.truthy(steps.find((s) => s.subject === 'guest "left"' && s.op.op === 'offload.set' && s.op.features.tx === false));
});

test('iproute2: gso_max_size/gro_max_size on ip link set; the shell plan shows every new step', (t) => {
  t.deepEqual(renderOp({ op: 'link.set', ns: 'gl-x-a', name: 'eth0', gsoMaxSize: 16384, groMaxSize: 32768 }).map(commandArgv), [
    ['ip', '-n', 'gl-x-a', 'link', 'set', 'dev', 'eth0', 'gso_max_size', '16384', 'gro_max_size', '32768'],
  ]);
  const { lab } = loadRecipeText(tuned, 'tuned.yaml');
  const sh = renderShell(planLab(lab, { autoDatapath: 'netdev' }).steps);
  t.regex(sh, /ip -n gl-tuned-box-1 link set dev underlay gso_max_size 16384 gro_max_size 32768/);
  t.regex(sh, /ip netns exec gl-tuned-box-1 ethtool -K sw1 tx-udp_tnl-segmentation off/);
});

test('netlink: IFLA_GSO_MAX_SIZE (41) and IFLA_GRO_MAX_SIZE (58) as u32 on RTM_NEWLINK', (t) => {
  const msg = linkSetMessage('eth0', { gsoMaxSize: 16384, groMaxSize: 32768 }, 7);
  // nlmsghdr 16 + ifinfomsg 16, then IFLA_IFNAME "eth0\0" (8 + pad to 12), then the two u32s.
  const attrs = msg.subarray(32).toString('hex');
  t.is(attrs, '0900' + '0300' + '6574683000' + '000000' + '0800' + '2900' + '00400000' + '0800' + '3a00' + '00800000');
  t.is(msg.readUInt32LE(0), msg.length);
});

test('ethtool -K: success is read from what it printed (real output), not from its exit code alone', (t) => {
  const run = (name: string) => ethtoolKRefusal(fixture(`${name}.stdout`), fixture(`${name}.stderr`), Number(fixture(`${name}.rc`).trim()));
  t.is(run('ethtool-K-ok'), undefined);
  // Exit 0, but one feature stayed as it was.
  t.is(Number(fixture('ethtool-K-partial.rc').trim()), 0);
  t.is(run('ethtool-K-partial'), 'the device refused: tx-udp_tnl-segmentation stays off (asked on; the device cannot change it)');
  t.is(run('ethtool-K-fixed'), 'the device refused: tx-udp_tnl-segmentation stays off (asked on; the device cannot change it)');
  t.regex(run('ethtool-K-unknown')!, /^ethtool does not know a feature name \(netlink error: bit name not found/);
  // The iproute2 backend's command carries that reading.
  const cmd = renderOp({ op: 'offload.set', ns: 'gl-x-a', dev: 'tun0', features: { tso: false, 'tx-udp_tnl-segmentation': true } })[0]!;
  t.deepEqual(commandArgv(cmd), ['ip', 'netns', 'exec', 'gl-x-a', 'ethtool', '-K', 'tun0', 'tso', 'off', 'tx-udp_tnl-segmentation', 'on']);
  t.true(cmd.tool === 'exec' && typeof cmd.verify === 'function' && cmd.verify({ argv: [], stdout: fixture('ethtool-K-partial.stdout'), stderr: '', exitCode: 0 } as never) !== undefined);
});

test('status reads the tunnel-offload features from ethtool -k (real output of a veth and a vxlan device)', (t) => {
  const veth = parseEthtoolFeatures(fixture('ethtool-k-veth.stdout'));
  t.is(veth['tx-udp_tnl-segmentation'], 'on');
  t.is(veth['tx-udp_tnl-csum-segmentation'], 'on');
  t.is(veth['rx-gro-hw'], 'off [fixed]');
  const vx = parseEthtoolFeatures(fixture('ethtool-k-vxlan.stdout'));
  t.is(vx['tx-udp_tnl-segmentation'], 'off [fixed]');
});

test('doctor: the tools routers and link tuning need (sysctl, nft for icmp_too_big: drop, ethtool for offloads)', async (t) => {
  const { requirements } = await import('../../../lib/doctor/doctor.js');
  const router = requirements((await loadRecipeFile(recipe('pmtu-router.yaml'))).lab).tools;
  t.true(router.includes('sysctl'));
  t.false(router.includes('nft'), 'routers that answer ICMP need no nft');
  t.true(requirements((await loadRecipeFile(recipe('pmtu-blackhole.yaml'))).lab).tools.includes('nft'));
  const tools = requirements(loadRecipeText(tuned, 'tuned.yaml').lab).tools;
  t.true(tools.includes('ethtool'));
  t.false(requirements((await loadRecipeFile(recipe('tunnel-in-tunnel.yaml'))).lab).tools.includes('ethtool'));
});

test('a network impairment covers the routers\' ports of that network too (each crossing packet once), at up and in impair steps', async (t) => {
  const text = readFileSync(recipe('pmtu-router.yaml'), 'utf8')
    .replace('  - { name: middle, mtu: 4000 }', '  - { name: middle, mtu: 4000, impair: { delay: 5ms } }')
    .replace(/checks:[\s\S]*$/, 'checks:\n  - name: slow\n    impair: { on: { network: middle }, delay: 20ms }\n    then: [{ ping: { from: left, to: right } }]\n');
  const { lab } = loadRecipeText(text, 'imp.yaml');
  const netem = planLab(lab).steps.filter((s) => s.op.op === 'qdisc.netem').map((s) => (s.op as { ns: string; dev: string }).dev);
  t.deepEqual(netem, ['r1', 'r2'], 'the middle network has only router ports');
  const step = lab.checks[0]!;
  t.is(step.kind, 'impair');
  if (step.kind === 'impair') t.deepEqual(step.on.map((x) => [x.what, x.dev]), [['network "middle" port of router "r1"', 'r1'], ['network "middle" port of router "r2"', 'r2']]);
});

test('ethtool -K with a group name (tx): sub-features a veth keeps fixed are not a refusal; a feature named in full is', (t) => {
  // Real output of `ethtool -K VETH tx on` (exit 0) on this machine's kernel.
  const out = `Actual changes:
tx-checksum-ipv4: off [requested on]
tx-checksum-ip-generic: on
tx-checksum-ipv6: off [requested on]
tx-tcp-segmentation: on [not requested]
tx-checksum-fcoe-crc: off [requested on]
tx-checksum-sctp: on
`;
  t.is(ethtoolKRefusal(out, '', 0, { tx: true }), undefined);
  t.regex(ethtoolKRefusal(out, '', 0, { 'tx-checksum-ipv4': true })!, /^the device refused: tx-checksum-ipv4 stays off \(asked on; the device cannot change it\)$/);
  t.regex(ethtoolKRefusal(out, '', 0)!, /tx-checksum-ipv4 stays off.*tx-checksum-ipv6 stays off.*tx-checksum-fcoe-crc stays off/, 'without the request every refused line counts');
});
