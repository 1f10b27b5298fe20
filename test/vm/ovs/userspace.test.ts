/**
 * VM tier (issue 13 §5): an OVS switch on the USERSPACE datapath (`datapath: netdev`) inside
 * `geneve-lab vm` — it used to fail with "OVS did not create the netdev br-underlay within 10 s"
 * because the guest had no /dev/net/tun — talking to the kernel's own geneve netdev: the
 * classic kernel ↔ OVS-userspace interop test, through the real CLI. Ping and TCP both ways, the
 * VNI and outer family on the wire, over IPv4 and IPv6.
 *
 * Needs a geneve netdev: inside the VM; elsewhere skipped LOUDLY.
 */
import type { ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_ARGV, ROOT } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { kernelTest } from '../faults/kernel.js';

/**
 * The CLI with room for a slow guest: one `run` here does many checks, and under TCG on a busy
 * host it can take several minutes (support/cli.ts's `cli` gives up after 3).
 */
function cliSlow(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI_ARGV, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 12 * 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const vmTest = (title: string, fn: (t: ExecutionContext) => void) =>
  kernelTest(title, fn, { features: ['geneve'], tools: ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'iperf3', 'tcpdump'] });

function recipe(lab: string, family: 'ipv4' | 'ipv6', ovsOn: 'box-1' | 'box-2'): string {
  const kind = (box: string) => (box === ovsOn ? 'ovs' : 'bridge');
  return `lab: ${lab}
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }], ovs: { datapath: netdev } }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }], ovs: { datapath: netdev } }
switches:
  - { name: sw1, host: box-1, kind: ${kind('box-1')} }
  - { name: sw2, host: box-2, kind: ${kind('box-2')} }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: geneve, vni: 77, family: ${family} }
checks:
  - { name: there, ping: { from: left, to: right } }
  - { name: back, ping: { from: right, to: left } }
  - { name: tcp-there, iperf: { from: left, to: right, duration: 2, min: 5Mbit } }
  - { name: tcp-back, iperf: { from: right, to: left, duration: 2, min: 5Mbit } }
  - { name: wire-there, capture: { host: box-2, interface: underlay, during: there, at_least: 3, expect: { geneve.vni: 77, outer.family: ${family}, inner.src: 203.0.113.1 } } }
  - { name: wire-back, capture: { host: box-1, interface: underlay, during: back, at_least: 3, expect: { geneve.vni: 77, outer.family: ${family}, inner.src: 203.0.113.2 } } }
`;
}

vmTest('the VM guest has /dev/net/tun (the OVS userspace datapath makes its ports as taps)', (t) => {
  t.true(existsSync('/dev/net/tun'));
});

for (const [family, ovsOn] of [['ipv4', 'box-1'], ['ipv6', 'box-2']] as const) {
  vmTest(`OVS userspace datapath (on ${ovsOn}) ↔ kernel geneve netdev over ${family}, inside the VM: ping and TCP both ways, VNI on the wire`, (t) => {
    t.timeout(20 * 60_000);
    const lab = randomLabName('vu');
    const dir = mkdtempSync(join(tmpdir(), 'gl-vmusr-'));
    const file = join(dir, 'r.yaml');
    writeFileSync(file, recipe(lab, family, ovsOn));
    const g = (a: string[]) => cliSlow(['--state-dir', join(dir, 'state'), ...a]);
    t.teardown(() => {
      g(['down', lab]);
      rmSync(dir, { recursive: true, force: true });
    });
    const plan = JSON.parse(g(['plan', '--format', 'json', file]).stdout) as { steps: { subject: string; op: { op: string; port?: { type: string }; link?: { kind: string } } }[] };
    t.true(plan.steps.some((s) => s.op.op === 'ovs.tunnel' && s.op.port?.type === 'geneve'), 'one end is an OVS geneve port');
    t.true(plan.steps.some((s) => s.subject.includes('underlay bridge')), 'on the userspace datapath (an underlay bridge)');
    t.true(plan.steps.some((s) => s.op.op === 'link.add' && s.op.link?.kind === 'geneve'), 'the other end a kernel geneve netdev');
    const r = g(['run', '--json', file]);
    t.is(r.code, 0, r.stdout + r.stderr);
    const checks = JSON.parse(r.stdout).checks as { name: string; status: string }[];
    t.deepEqual(checks.map((c) => [c.name, c.status]), ['there', 'back', 'tcp-there', 'tcp-back', 'wire-there', 'wire-back', `vswitchd-log ${ovsOn}`].map((n) => [n, 'passed']), JSON.stringify(checks, null, 1));
    t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
  });
}
