/**
 * Issue 18 §1: the operator's verbs against a REAL lab brought up with the CLI — two simulated
 * hosts with OVS (userspace datapath) joined by a Geneve tunnel, a guest on each switch.
 * exec/ovs run in the lab's namespaces and OVS instances; every test shares the one lab, which
 * the last hook tears down (and checks nothing is left).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { privReason, privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';

const TOOLS = ['ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl', 'tcpdump'];
const stateDir = mkdtempSync(join(tmpdir(), 'tb-state-'));
const dir = mkdtempSync(join(tmpdir(), 'tb-recipe-'));
const lab = randomLabName('tb');
const file = join(dir, 'lab.yaml');
writeFileSync(
  file,
  `lab: ${lab}
hosts:
  - name: host-1
    interfaces: [{ ipv4: 192.0.2.151/24 }]
  - name: host-2
    interfaces: [{ ipv4: 192.0.2.149/24 }]
switches:
  - { name: br1, host: host-1, kind: ovs, addresses: [198.51.100.1/24] }
  - { name: br1b, host: host-2, kind: ovs, addresses: [198.51.100.2/24] }
guests:
  - { name: g1, switch: br1, addresses: [203.0.113.1/24] }
  - { name: g2, switch: br1b, addresses: [203.0.113.2/24] }
tunnels:
  - { name: gnv, between: [br1, br1b], type: geneve, vni: 77 }
`,
);
const g = (args: string[]) => cli(['--state-dir', stateDir, ...args]);
const canRun = !privReason(['ip', ...TOOLS]);

test.before(() => {
  if (!canRun) return;
  const r = g(['up', '--no-checks', file]);
  if (r.code !== 0) throw new Error(`up failed (${r.code}): ${r.stderr}`);
});
test.after.always(() => {
  if (canRun) g(['down', lab]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

privTest(
  'exec runs the command in the guest namespace and exits with its code',
  (t) => {
    const r = g(['exec', lab, 'g1', '--', 'ip', '-br', 'addr', 'show', 'dev', 'eth0']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /203\.0\.113\.1\/24/);
    // The root namespace has no such address: the command really ran in the guest.
    t.false(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' }).includes('203.0.113.1/'));
    t.is(g(['exec', lab, 'g1', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']).code, 7);
    const ping = g(['exec', lab, 'g1', '--', 'ping', '-c', '2', '-W', '3', '203.0.113.2']);
    t.is(ping.code, 0, ping.stdout + ping.stderr);
    const unknown = g(['exec', lab, 'nope', '--', 'true']);
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /no node "nope"; its nodes: host-1, host-2, br1, br1b, g1, g2/);
    t.is(g(['exec', 'tbnolab', 'g1', '--', 'true']).code, 5);
  },
  { tools: TOOLS },
);

privTest(
  "ovs talks to the switch's own OVS instance",
  (t) => {
    const show = g(['ovs', lab, 'br1', '--', 'vsctl', 'show']);
    t.is(show.code, 0, show.stderr);
    t.regex(show.stdout, /Bridge br1\b/);
    t.regex(show.stdout, /type: geneve/);
    t.regex(show.stdout, /key="77", remote_ip="192\.0\.2\.149"/);
    // The other host's instance has the other end.
    t.regex(g(['ovs', lab, 'br1b', '--', 'vsctl', 'show']).stdout, /remote_ip="192\.0\.2\.151"/);
    const ports = g(['ovs', lab, 'br1', '--', 'ofctl', 'dump-ports', 'br1']);
    t.is(ports.code, 0, ports.stderr);
    t.regex(ports.stdout, /OFPST_PORT reply/);
    const ctl = g(['ovs', lab, 'br1', '--', 'appctl', 'version']);
    t.is(ctl.code, 0, ctl.stderr);
    t.regex(ctl.stdout, /ovs-vswitchd/);
    t.is(g(['ovs', lab, 'g1', '--', 'vsctl', 'show']).code, 2);
    t.true(netns().includes(`gl-${lab}-host-1`));
  },
  { tools: TOOLS },
);
