/** exec/shell/ovs: which namespace or SSH host a node is, and the argv that reaches it. */
import test from 'ava';
import { twoSwitchLab } from './fixture.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { invocation, nodeTarget, ovsInvocation, shellArgv } from '../../../lib/inspect/target.js';
import { UsageError } from '../../../lib/errors.js';

const lab = twoSwitchLab('tbx', 'type: vxlan, vni: 5');

const remoteLab = loadRecipeText(
  `lab: tbr
hosts:
  - name: far
    ssh: { target: admin@198.51.100.7, port: 2222 }
    interfaces: [{ ipv4: 192.0.2.1/24 }]
  - name: near
    ssh: { target: 198.51.100.8 }
    interfaces: [{ ipv4: 192.0.2.2/24 }]
switches:
  - { name: sw, host: far }
  - { name: sw2, host: near }
tunnels:
  - { name: t1, between: [sw, sw2], type: vxlan, vni: 5 }
`,
  'lab.yaml',
).lab;

test('a guest runs in its own namespace, a switch in its host\'s', (t) => {
  t.deepEqual(invocation(nodeTarget(lab, 'g1'), ['ip', 'addr']).argv, ['ip', 'netns', 'exec', 'gl-tbx-g1', 'ip', 'addr']);
  const sw = nodeTarget(lab, 'ovs1');
  t.is(sw.kind, 'switch');
  t.is(sw.ns, 'gl-tbx-h1');
  t.is(nodeTarget(lab, 'h2').ifname, lab.hosts[1]!.interfaces[0]!.ifname);
});

test('an unknown node names the nodes there are', (t) => {
  const e = t.throws(() => nodeTarget(lab, 'nope'), { instanceOf: UsageError });
  t.regex(e!.message, /no node "nope"; its nodes: h1, h2, ovs1, br2, g1, g2/);
});

test('no command is a usage error that shows where the command goes', (t) => {
  t.throws(() => invocation(nodeTarget(lab, 'g1'), []), { instanceOf: UsageError, message: /after "--"/ });
});

test('a node on an SSH host is reached with ssh, as root through sudo when needed, every word quoted', (t) => {
  const inv = invocation(nodeTarget(remoteLab, 'sw', [{ host: 'far', target: 'admin@198.51.100.7', port: 2222 }]), ['echo', 'a b']);
  t.is(inv.argv[0], 'ssh');
  t.true(inv.argv.includes('-T'));
  t.deepEqual(inv.argv.slice(inv.argv.indexOf('-p'), inv.argv.indexOf('-p') + 2), ['-p', '2222']);
  const remote = inv.argv.at(-1)!;
  t.is(inv.argv.at(-2), 'admin@198.51.100.7');
  t.regex(remote, /sudo -n/);
  t.true(remote.endsWith(`sh echo 'a b'`));
  const tty = invocation(nodeTarget(remoteLab, 'far'), ['bash', '-i'], { tty: true });
  t.true(tty.argv.includes('-t'));
});

test('the OVS tools talk to the switch host\'s own instance', (t) => {
  const vs = ovsInvocation(lab, 'ovs1', 'vsctl', ['show'], '/st/run');
  t.deepEqual(vs.argv, ['ip', 'netns', 'exec', 'gl-tbx-h1', 'ovs-vsctl', '--db=unix:/st/run/tbx/ovs-h1/db.sock', 'show']);
  t.is(vs.env?.OVS_RUNDIR, '/st/run/tbx/ovs-h1');
  const ap = ovsInvocation(lab, 'ovs1', 'appctl', ['vlog/list'], '/st/run');
  t.deepEqual(ap.argv.slice(4), ['ovs-appctl', '-t', '/st/run/tbx/ovs-h1/ovs-vswitchd.ctl', 'vlog/list']);
  t.deepEqual(ovsInvocation(lab, 'h1', 'dpctl', ['dump-flows'], '/st/run').argv.slice(-1), ['dpctl/dump-flows']);
  t.deepEqual(ovsInvocation(lab, 'ovs1', 'ofctl', ['dump-flows', 'ovs1'], '/st/run').argv.slice(4), ['ovs-ofctl', 'dump-flows', 'ovs1']);
});

test('ovs refuses what has no OVS, with what to do instead', (t) => {
  t.throws(() => ovsInvocation(lab, 'br2', 'vsctl', ['show'], '/r'), { instanceOf: UsageError, message: /Linux bridge, not an OVS switch; use `geneve-lab exec tbx br2/ });
  t.throws(() => ovsInvocation(lab, 'g1', 'vsctl', ['show'], '/r'), { instanceOf: UsageError, message: /"g1" is a guest/ });
  t.throws(() => ovsInvocation(lab, 'h2', 'vsctl', ['show'], '/r'), { instanceOf: UsageError, message: /host "h2" runs no OVS/ });
  t.throws(() => ovsInvocation(lab, 'ovs1', 'dpkg', [], '/r'), { instanceOf: UsageError, message: /use one of: vsctl, ofctl, appctl, dpctl/ });
  t.throws(() => ovsInvocation(lab, 'ovs1', 'ofctl', [], '/r'), { instanceOf: UsageError, message: /dump-flows/ });
});

test('the shell is the user\'s when it is a known one', (t) => {
  t.deepEqual(shellArgv('/usr/bin/zsh'), ['zsh', '-i']);
  t.deepEqual(shellArgv('/opt/weird'), ['bash', '-i']);
  t.deepEqual(shellArgv(undefined), ['bash', '-i']);
});
