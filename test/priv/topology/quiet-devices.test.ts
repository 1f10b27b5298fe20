/**
 * The lab's infrastructure devices send nothing of their own (lib/plan/quiet.ts): an OVS guest
 * port, an OVS bridge's internal port, a Linux bridge and the underlay network's bridge have no
 * IPv6 address and transmit no DAD, router solicitation or MLD report, so what a `counter` or a
 * capture sees is what guests and tunnels sent. The guests' own NICs, which keep IPv6, are the
 * control: they do send such packets in the same seconds, so a zero below is not an idle kernel.
 */
import { execFile, execFileSync } from 'node:child_process';
import { privTest } from '../../support/priv.js';
import { OVS_TOOLS, recipeCopy } from '../ovs-recipes/support.js';

const BODY = `hosts:
  - { name: h1, interfaces: [{ ipv4: 198.51.100.1/24 }] }
  - { name: h2, interfaces: [{ ipv4: 198.51.100.2/24 }] }
switches:
  # one flow that drops everything: OVS forwards nothing, so any packet on these devices is the kernel's own
  - { name: sw1, host: h1, kind: ovs, fail_mode: secure, flows: ["priority=0,actions=drop"] }
  - { name: sw2, host: h2, kind: ovs, fail_mode: secure, flows: ["priority=0,actions=drop"] }
  - { name: lb1, host: h1 }
guests:
  - { name: a, switch: sw1, addresses: [192.0.2.1/24] }
  - { name: b, switch: sw2, addresses: [192.0.2.2/24] }
  - { name: c, switch: lb1, addresses: [192.0.2.3/24] }
tunnels:
  - { name: t0, between: [sw1, sw2], type: geneve, vni: 9 }
`;

function link(ns: string, dev: string): { tx: number; v6: number } {
  const l = JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }))[0];
  const a = JSON.parse(execFileSync('ip', ['-n', ns, '-6', '-j', 'addr', 'show', 'dev', dev], { encoding: 'utf8' }))[0];
  return { tx: l.stats64.tx.packets as number, v6: (a?.addr_info ?? []).length as number };
}

/** IPv6 frames `dev` sends in the next 8 s (tcpdump -Q out), one line each. */
function ip6Out(ns: string, dev: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, 'timeout', '8', 'tcpdump', '-Q', 'out', '-nn', '-l', '-i', dev, 'ip6'], { encoding: 'utf8' }, (_e, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

privTest('bridges, switch ports and internal ports of a lab have no IPv6 and send nothing of their own after up; guests do', async (t) => {
  t.timeout(180_000);
  const c = recipeCopy(t, 'quickstart.yaml', (s) => `${/^lab: \S+$/m.exec(s)![0]}\n${BODY}`);
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const ns = (n: string) => `gl-${c.lab}-${n}`;
  const devices: Record<string, [string, string]> = {
    'guest b port on OVS': [ns('h2'), 'b'],
    'guest a port on OVS': [ns('h1'), 'a'],
    'OVS internal port sw2': [ns('h2'), 'sw2'],
    'underlay network bridge': [`gl-${c.lab}--underlay`, 'br0'],
  };
  const read = () => Object.fromEntries(Object.entries(devices).map(([what, [n, dev]]) => [what, link(n, dev)]));
  const guest = () => link(ns('b'), 'eth0');
  // What a check right after `up` would count: router solicitations repeat after 4 s, MLD reports
  // within a second or two. The Linux bridge and its port are watched with tcpdump instead of
  // their counters: the bridge also sends IGMP reports for 224.0.0.106 (multicast snooping's
  // router discovery) in its first seconds, out of itself and so out of its port — IPv4, not what
  // this is about.
  const before = read();
  const guestBefore = guest();
  const [bridgeOut, portOut] = await Promise.all([ip6Out(ns('h1'), 'lb1'), ip6Out(ns('h1'), 'c')]);
  const after = read();
  const guestAfter = guest();
  for (const what of Object.keys(devices)) {
    t.is(after[what]!.v6, 0, `${what}: no IPv6 address`);
    t.is(after[what]!.tx - before[what]!.tx, 0, `${what}: nothing transmitted in 8 s after up`);
  }
  for (const [what, dev, out] of [['Linux bridge lb1', 'lb1', bridgeOut], ['guest c port on lb1', 'c', portOut]] as const) {
    t.is(link(ns('h1'), dev).v6, 0, `${what}: no IPv6 address`);
    t.regex(out.stderr, new RegExp(`listening on ${dev}`), `${what}: tcpdump ran for the 8 s`);
    t.is(out.stdout.trim(), '', `${what}: sent no IPv6 frame in 8 s after up`);
  }
  // The control: the guests' NICs kept IPv6 and did send in the same time.
  t.true(guestAfter.v6 > 0 && guestAfter.tx > guestBefore.tx, `guest b's eth0 kept IPv6 and sent ${guestAfter.tx - guestBefore.tx} packets in the same 8 s`);
  const down = c.g(['down', c.lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
}, OVS_TOOLS);
