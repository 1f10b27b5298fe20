/**
 * VM tier (kernel datapath): an Open vSwitch geneve port on the kernel (`system`) datapath
 * talking to the kernel's own geneve netdev — the topology of OVS's system tests — through the
 * real CLI. box-1's switch is OVS (its tunnel end is an OVS port), box-2's is a Linux bridge
 * (its end is `ip link add … type geneve`). Ping and iperf3 TCP in both directions, over an IPv4
 * and an IPv6 underlay, with the VNI and outer family checked on the wire.
 *
 * Needs the openvswitch module and a geneve netdev: run inside the VM,
 * `geneve-lab vm --exec -- npx ava test/vm/ovs/`. Elsewhere every test is skipped LOUDLY.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { kernelTest } from '../faults/kernel.js';

const vmTest = (title: string, fn: (t: ExecutionContext) => void) =>
  kernelTest(title, fn, { features: ['geneve', 'ovs-kernel'], tools: ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'iperf3', 'tcpdump'] });

function recipe(lab: string, family: 'ipv4' | 'ipv6', ovsOn: 'box-1' | 'box-2'): string {
  const kind = (box: string) => (box === ovsOn ? 'ovs' : 'bridge');
  return `lab: ${lab}
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }], ovs: { datapath: system } }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }], ovs: { datapath: system } }
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
  - { name: tcp-there, iperf: { from: left, to: right, duration: 2, min: 10Mbit } }
  - { name: tcp-back, iperf: { from: right, to: left, duration: 2, min: 10Mbit } }
  - { name: wire-there, capture: { host: box-2, interface: underlay, during: there, at_least: 3, expect: { geneve.vni: 77, outer.family: ${family}, inner.src: 203.0.113.1 } } }
  - { name: wire-back, capture: { host: box-1, interface: underlay, during: back, at_least: 3, expect: { geneve.vni: 77, outer.family: ${family}, inner.src: 203.0.113.2 } } }
`;
}

for (const family of ['ipv4', 'ipv6'] as const) {
  for (const ovsOn of ['box-1', 'box-2'] as const) {
    vmTest(`OVS geneve port (kernel datapath, on ${ovsOn}) ↔ kernel geneve netdev over ${family}: ping and TCP both ways, VNI on the wire`, (t) => {
      t.timeout(20 * 60_000); // each CLI run is slow under TCG
      const lab = randomLabName('vo');
      const dir = mkdtempSync(join(tmpdir(), 'gl-vmovs-'));
      const state = join(dir, 'state');
      const file = join(dir, 'r.yaml');
      writeFileSync(file, recipe(lab, family, ovsOn));
      const g = (a: string[]) => cli(['--state-dir', state, ...a]);
      t.teardown(() => {
        g(['down', lab]);
        rmSync(dir, { recursive: true, force: true });
      });
      const plan = JSON.parse(g(['plan', '--format', 'json', file]).stdout) as { steps: { op: { op: string; port?: { type: string } ; link?: { kind: string } } }[] };
      t.true(plan.steps.some((s) => s.op.op === 'ovs.tunnel' && s.op.port?.type === 'geneve'), 'one end is an OVS geneve port');
      t.true(plan.steps.some((s) => s.op.op === 'link.add' && s.op.link?.kind === 'geneve'), 'the other a kernel geneve netdev');
      const r = g(['run', '--json', file]);
      t.is(r.code, 0, r.stdout + r.stderr);
      const checks = JSON.parse(r.stdout).checks as { name: string; status: string; message?: string }[];
      // Plus the default vswitchd log gate of the OVS host (docs/recipes.md, "The vswitchd log gate").
      t.deepEqual(checks.map((c) => [c.name, c.status]), ['there', 'back', 'tcp-there', 'tcp-back', 'wire-there', 'wire-back', `vswitchd-log ${ovsOn}`].map((n) => [n, 'passed']), JSON.stringify(checks, null, 1));
      t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
    });
  }
}
