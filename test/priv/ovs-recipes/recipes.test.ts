/**
 * Every OVS recipe of issue 5 through the real CLI (`geneve-lab run`), on this machine's OVS
 * (userspace datapath here): all checks pass, the wire shows what the recipe promises, the
 * checks can fail, and nothing is left behind. Each recipe runs under a random lab name.
 */
import { spawn } from 'node:child_process';
import { privTest } from '../../support/priv.js';
import { netnsList } from '../../support/oracle.js';
import { NOTHING_LEFT, OVS_TOOLS, leftovers, recipeCopy, rootLinks, runJson } from './support.js';

const rootBefore = rootLinks();

function passesAll(t: import('ava').ExecutionContext, file: string, expected: string[]) {
  const c = recipeCopy(t, file);
  const r = runJson(c);
  t.is(r.code, 0, r.out);
  for (const name of expected) t.is(r.checks[name]?.status, 'passed', `${name}: ${r.checks[name]?.message ?? 'missing'}\n${r.out}`);
  // Plus the default vswitchd log gate of each host running the lab's OVS: green for these recipes.
  const gates = Object.keys(r.checks).filter((n) => n.startsWith('vswitchd-log '));
  t.true(gates.length >= 2, `one log gate per OVS host: ${gates.join(', ')}`);
  for (const g of gates) t.is(r.checks[g]?.status, 'passed', `${g}: ${r.checks[g]?.message ?? ''}`);
  t.deepEqual(Object.keys(r.checks).filter((n) => !gates.includes(n)).sort(), [...expected].sort(), 'exactly the recipe\'s checks ran');
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(rootLinks(), rootBefore, 'the root namespace is untouched');
  return r;
}

privTest('recipe ovs-geneve-two-hosts (seed 000): ping between the br1 bridges over OVS geneve', (t) => {
  passesAll(t, 'ovs-geneve-two-hosts.yaml', ['br1-to-br1']);
}, OVS_TOOLS);

privTest('recipe ovs-geneve-vni5000 (seed 001): ping passes and the capture sees VNI 5000 on the wire', (t) => {
  const r = passesAll(t, 'ovs-geneve-vni5000.yaml', ['br1-to-br1', 'vni-on-the-wire']);
  t.true(Number(r.checks['vni-on-the-wire']!.figures.matched) >= 5);
});

privTest('the VNI capture check can fail: expecting VNI 5001 on the 5000 tunnel fails and names what it saw', (t) => {
  const c = recipeCopy(t, 'ovs-geneve-vni5000.yaml', (s) => s.replace('geneve.vni: 5000', 'geneve.vni: 5001'));
  const r = runJson(c);
  t.is(r.code, 1, r.out);
  t.is(r.checks['br1-to-br1']?.status, 'passed');
  t.is(r.checks['vni-on-the-wire']?.status, 'failed');
  t.regex(r.checks['vni-on-the-wire']?.message ?? '', /geneve\.vni.*5000/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('recipe encapsulations (seed 003, all three at once): Geneve, VXLAN and GRE side by side, ping + iperf3 TCP each, Geneve and VXLAN VNIs on the wire', (t) => {
  const r = passesAll(t, 'encapsulations.yaml', ['geneve-ping', 'vxlan-ping', 'gre-ping', 'geneve-tcp', 'vxlan-tcp', 'gre-tcp', 'geneve-wire', 'vxlan-wire']);
  for (const n of ['geneve-tcp', 'vxlan-tcp', 'gre-tcp']) t.true(Number(r.checks[n]!.figures.bps) >= 20e6, JSON.stringify(r.checks[n]!.figures));
}, OVS_TOOLS);

for (const [file, capture] of [
  ['encapsulations-geneve.yaml', true],
  ['encapsulations-vxlan.yaml', true],
  ['encapsulations-gre.yaml', false],
] as const) {
  privTest(`recipe ${file} (seed 003): ping and iperf3 TCP between left and right through OVS`, (t) => {
    const r = passesAll(t, file, ['l2', 'tcp', ...(capture ? ['capture box-2'] : [])]);
    t.true(Number(r.checks.tcp!.figures.bps) >= 50e6, JSON.stringify(r.checks.tcp!.figures));
  }, OVS_TOOLS);
}

privTest('encapsulations-gre: the packets on the underlay are GRE (IP protocol 47) carrying the guests\' ICMP', async (t) => {
  // No kernel gre module here: OVS's userspace datapath builds these packets itself.
  const c = recipeCopy(t, 'encapsulations-gre.yaml');
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const dump = spawn('ip', ['netns', 'exec', `gl-${c.lab}-box-2`, 'timeout', '20', 'tcpdump', '-n', '-l', '-i', 'underlay', '-c', '12', 'ip proto 47'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  dump.stdout.on('data', (d) => (out += d));
  dump.stderr.on('data', (d) => (out += d));
  const done = new Promise((res) => dump.on('close', res));
  t.teardown(() => void dump.kill('SIGKILL'));
  for (let i = 0; i < 100 && !/listening on/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  const ping = spawn('ip', ['netns', 'exec', `gl-${c.lab}-left`, 'ping', '-c', '8', '-i', '0.2', '-W', '2', '203.0.113.2'], { stdio: 'ignore' });
  await new Promise((res) => ping.on('close', res));
  await done;
  t.regex(out, /192\.0\.2\.11 > 192\.0\.2\.12: GRE.*203\.0\.113\.1 > 203\.0\.113\.2: ICMP echo request/, out);
  t.regex(out, /192\.0\.2\.12 > 192\.0\.2\.11: GRE.*203\.0\.113\.2 > 203\.0\.113\.1: ICMP echo reply/, out);
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('encapsulations-ipsec-gre on a kernel without ESP or OVS\'s kernel datapath: a clear exit 3 naming what is missing and what works, before anything is created — never an unencrypted pass', (t) => {
  const c = recipeCopy(t, 'encapsulations-ipsec-gre.yaml');
  const before = netnsList();
  const r = c.g(['run', c.file]);
  t.is(r.code, 3, r.stdout + r.stderr);
  t.regex(r.stderr, /this kernel has no esp support .*IPsec tunnels need ESP in the kernel .*`geneve-lab vm -- up RECIPE`/s);
  // Where the kernel has ESP but no openvswitch module, the planner refuses the userspace datapath.
  const plan = c.g(['plan', c.file]);
  t.is(plan.code, 3, plan.stdout + plan.stderr);
  t.regex(plan.stderr, /tunnel "tun0" on host "box-1": GRE over IPsec \(ovs\.psk\) on an OVS port: unsupported here/);
  t.regex(plan.stderr, /userspace \(netdev\) datapath cannot encrypt.*What works: the kernel datapath/s);
  t.notRegex(r.stdout, /PASS/);
  t.deepEqual(netnsList().filter((n) => !before.includes(n) && n.startsWith(`gl-${c.lab}-`)), []);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);

privTest('recipe ovn-metadata (seed 004): ping passes; requests carry ingress 1/egress 2 and replies 2/1 in a critical OVN option on VNI 1', (t) => {
  passesAll(t, 'ovn-metadata.yaml', ['vm1-to-vm2', 'request-carries-ingress-1-egress-2', 'reply-carries-ingress-2-egress-1']);
}, OVS_TOOLS);

privTest('ovn-metadata: the option check can fail — replies do not carry the request\'s ingress 1/egress 2', (t) => {
  const c = recipeCopy(t, 'ovn-metadata.yaml', (s) =>
    s.replace(/geneve\.ovn: \{ ingress: 2, egress: 1 \}/, 'geneve.ovn: { ingress: 1, egress: 2 }'),
  );
  const r = runJson(c);
  t.is(r.code, 1, r.out);
  t.is(r.checks['vm1-to-vm2']?.status, 'passed');
  t.is(r.checks['request-carries-ingress-1-egress-2']?.status, 'passed');
  t.is(r.checks['reply-carries-ingress-2-egress-1']?.status, 'failed');
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, OVS_TOOLS);
