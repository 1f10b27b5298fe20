/**
 * OVN beyond one switch, through the real CLI on the userspace datapath: two logical switches
 * joined by a distributed logical router, an ACL, and a central in a namespace of its own
 * (chassis reach the SB through its unix socket). Routed traffic crosses chassis with the
 * destination switch's VNI and the router port as ingress, as ovn-architecture(7) says.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { OVN_TOOLS, daemonsMentioning, netnsId } from './support.js';

function recipe(lab: string): string {
  return `lab: ${lab}
hosts:
  - { name: h1, interfaces: [{ ipv4: 192.0.2.21/24 }] }
  - { name: h2, interfaces: [{ ipv4: 192.0.2.22/24 }] }
switches:
  - { name: sw1, host: h1, kind: ovs }
  - { name: sw2, host: h2, kind: ovs }
guests:
  - { name: vm1, switch: sw1, addresses: [198.51.100.11/24], routes: [{ to: default, via: 198.51.100.1 }] }
  - { name: vm2, switch: sw2, addresses: [198.51.100.12/24], routes: [{ to: default, via: 198.51.100.1 }] }
  - { name: vm3, switch: sw2, addresses: [203.0.113.13/24], routes: [{ to: default, via: 203.0.113.1 }] }
ovn:
  switches:
    - { name: ls1, ports: [vm1, vm2] }
    - { name: ls2, ports: [vm3] }
  routers:
    - { name: lr0, ports: [{ switch: ls1, networks: [198.51.100.1/24] }, { switch: ls2, networks: [203.0.113.1/24] }] }
  acls:
    - { switch: ls1, direction: to-lport, priority: 1001, match: 'outport == "vm2" && icmp4', action: drop }
checks:
  - { name: routed, ping: { from: vm1, to: vm3 } }
  - { name: blocked-by-acl, ping: { from: vm1, to: vm2, expect: unreachable, count: 2 } }
  - { name: back, ping: { from: vm3, to: vm1 } }
  - name: routed-on-the-wire
    capture: { host: h2, interface: underlay, during: routed, at_least: 3, expect: { ovn: { datapath: ls2, ingress: ls2-lr0, egress: vm3 }, inner.dst: 203.0.113.13 } }
  - name: trace-routed
    ovn: { trace: [--minimal, ls1, 'inport == "vm1" && eth.src == \${vm1mac} && eth.dst == \${lrpmac} && ip4.src == 198.51.100.11 && ip4.dst == 203.0.113.13 && ip.ttl == 64'], expect: { contains: 'output("vm3")' } }
  - name: three-ports-up
    ovn: { sbctl: [find, Port_Binding, up=true, 'type=""'], expect: { count: 3 } }
  - { name: mesh, ovn: { tunnels: mesh } }
`;
}

privTest('two logical switches, a distributed router and an ACL, central in its own namespace: routed ping across chassis, ACL drop, the routed packet\'s metadata on the wire', (t) => {
  t.timeout(10 * 60_000);
  const lab = randomLabName('ov');
  const dir = mkdtempSync(join(tmpdir(), 'gl-ovn-topo-'));
  const state = join(dir, 'state');
  const file = join(dir, 'r.yaml');
  const g = (a: string[]) => cli(['--state-dir', state, ...a]);
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  // The MACs the trace needs: vm1's derived MAC and the router port's, from the resolved model.
  writeFileSync(file, recipe(lab).replace('${vm1mac}', '00:00:00:00:00:00').replace('${lrpmac}', '00:00:00:00:00:00'));
  const model = JSON.parse(g(['plan', '--format', 'json', file]).stdout) as { steps: { op: { op: string; cmds?: string[][]; link?: { name: string; mac?: string } } }[] };
  const vm1mac = model.steps.flatMap((s) => (s.op.op === 'ovn.nbctl' ? s.op.cmds! : [])).find((c) => c[0] === 'lsp-set-addresses' && c[1] === 'vm1')![2]!.split(' ')[0]!;
  const lrpmac = model.steps.flatMap((s) => (s.op.op === 'ovn.nbctl' ? s.op.cmds! : [])).find((c) => c[0] === 'lrp-add' && c[2] === 'lr0-ls1')![3]!;
  writeFileSync(file, recipe(lab).replace('${vm1mac}', vm1mac).replace('${lrpmac}', lrpmac));

  const up = g(['up', '--no-checks', file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stderr, /converged: 2 chassis registered, 3 logical ports up/);
  const central = daemonsMentioning(state).filter((d) => d.comm === 'ovn-northd');
  t.is(central.length, 1);
  t.is(central[0]!.netns, netnsId(`gl-${lab}-ovn-central`), 'the central runs in the namespace the lab made for it');
  const r = g(['check', '--json', file]);
  const checks = JSON.parse(r.stdout).checks as { name: string; status: string; message?: string }[];
  t.deepEqual(checks.map((c) => [c.name, c.status]), ['routed', 'blocked-by-acl', 'back', 'routed-on-the-wire', 'trace-routed', 'three-ports-up', 'mesh', 'vswitchd-log h1', 'vswitchd-log h2'].map((n) => [n, 'passed']), JSON.stringify(checks, null, 1));
  t.is(r.code, 0);
  const down = g(['down', lab]);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), []);
  t.deepEqual(daemonsMentioning(state), []);
}, OVN_TOOLS);
