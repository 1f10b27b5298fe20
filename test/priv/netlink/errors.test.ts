/**
 * Every kernel error path this kernel can produce through the netlink backend, with the
 * message a user would read: subject, host, namespace, the kernel's text, errno.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { createNetlinkBackend, type NetlinkBackend } from '../../../lib/backends/netlink/index.js';
import { OpError } from '../../../lib/errors.js';
import { StepFailed } from '../../../lib/backends/backend.js';
import type { Op, Step } from '../../../lib/plan/ops.js';
import { removeNamespaces } from './oracle.js';

const step = (op: Op, subject = 'tunnel "t0"'): Step => ({ id: 7, subject, host: 'box-1', op, undo: null });

async function fails(t: ExecutionContext, b: NetlinkBackend, op: Op, errno: string, message: RegExp, subject?: string): Promise<OpError | undefined> {
  const e = await t.throwsAsync(b.run(step(op, subject)), { instanceOf: OpError });
  if (!e) return undefined;
  t.is(e.failure.errno, errno, e.message);
  t.regex(e.message, message);
  t.false(/\n\s+at /.test(e.message), 'no stack trace in the message');
  t.log(e.message.split('\n')[0]);
  return e;
}

async function lab(t: ExecutionContext): Promise<{ b: NetlinkBackend; ns: string; other: string }> {
  const name = randomLabName('ne');
  const ns = `${name}-x`;
  const other = `${name}-y`;
  const b = await createNetlinkBackend();
  t.teardown(async () => {
    await b.close();
    removeNamespaces([ns, other].filter((n) => existsSync(`/run/netns/${n}`)));
  });
  await b.run(step({ op: 'netns.add', ns, tag: 'gl-err' }));
  await b.run(step({ op: 'link.add', ns, link: { kind: 'veth', name: 'v0', peer: { name: 'v1', ns } } }));
  await b.run(step({ op: 'link.add', ns, link: { kind: 'bridge', name: 'br0' } }));
  return { b, ns, other };
}

privTest('netlink errors: link creation (ERANGE, EEXIST, EINVAL, unknown kind, missing peer namespace)', async (t) => {
  const { b, ns, other } = await lab(t);
  const e = await fails(t, b, { op: 'link.add', ns, link: { kind: 'vxlan', name: 't0', vxlan: { vni: 1 << 24, dstport: 4789 } } }, 'ERANGE', /VXLAN ID must be lower than 16777216/);
  t.is(e?.message.split('\n')[0], `tunnel "t0" on host "box-1" (netns ${ns}): VXLAN ID must be lower than 16777216 (ERANGE)`);
  await fails(t, b, { op: 'link.add', ns, link: { kind: 'dummy', name: 'v0' } }, 'EEXIST', /File exists: a link named "v0" already exists \(EEXIST\)/);
  await fails(t, b, { op: 'link.add', ns, link: { kind: 'bridge', name: 'v0' } }, 'EEXIST', /netns .*a link named "v0" already exists/);
  await fails(
    t, b,
    { op: 'link.add', ns, link: { kind: 'vxlan', name: 't1', vxlan: { vni: 5, remote: '2001:db8::1', local: '192.0.2.1', dstport: 4789 } } },
    'EINVAL', /\(netns .*\): .+ \(EINVAL\)/,
  );
  await fails(t, b, { op: 'link.add', ns, link: { kind: 'veth', name: 'v9', peer: { name: 'v10', ns: other } } }, 'ENOENT', new RegExp(`guest "g1" on host "box-1" \\(netns ${ns}\\): namespace "${other}" does not exist`), 'guest "g1"');
  t.false(execFileSync('ip', ['-n', ns, '-br', 'link'], { encoding: 'utf8' }).includes('v9'), 'nothing half-created');
});

privTest('netlink errors: geneve on a kernel without geneve says so plainly', async (t) => {
  const { b, ns } = await lab(t);
  const op: Op = { op: 'link.add', ns, link: { kind: 'geneve', name: 'gnv0', geneve: { vni: 42, remote: '192.0.2.2', dstport: 6081 } } };
  let e: unknown;
  try {
    await b.run(step(op));
  } catch (err) {
    e = err;
  }
  if (!e) {
    // this kernel has geneve: the link must exist (the VM tier checks its attributes)
    t.truthy(b.getLink(ns, 'gnv0')?.geneve, 'created geneve link reads back with geneve data');
    return;
  }
  t.true(e instanceof OpError);
  const f = (e as OpError).failure;
  t.is(f.errno, 'EOPNOTSUPP');
  t.regex((e as OpError).message, new RegExp(`^tunnel "t0" on host "box-1" \\(netns ${ns}\\): Unknown device type: this kernel has no "geneve" link type .*VM tier.* \\(EOPNOTSUPP\\)`));
});

privTest('netlink errors: link changes and deletion (ENODEV, EINVAL mtu, bridge into bridge)', async (t) => {
  const { b, ns } = await lab(t);
  await fails(t, b, { op: 'link.del', ns, name: 'nope' }, 'ENODEV', /No such device: no link "nope" \(ENODEV\)/);
  await fails(t, b, { op: 'link.set', ns, name: 'nope', up: true }, 'ENODEV', /no link "nope"/);
  await fails(t, b, { op: 'link.set', ns, name: 'v0', mtu: 70000 }, 'EINVAL', /mtu greater than device maximum \(EINVAL\)/);
  await fails(t, b, { op: 'link.set', ns, name: 'v0', master: 'nobr' }, 'ENODEV', /no link "nobr"/);
  await fails(t, b, { op: 'link.set', ns, name: 'br0', master: 'br0' }, 'ELOOP', /Can not enslave a bridge to a bridge|enslave/i);
});

privTest('netlink errors: addresses, routes, sysctl, offload', async (t) => {
  const { b, ns } = await lab(t);
  await b.run(step({ op: 'addr.add', ns, dev: 'v0', address: '192.0.2.1/24' }));
  await fails(t, b, { op: 'addr.add', ns, dev: 'v0', address: '192.0.2.1/24' }, 'EEXIST', /Address already assigned \(EEXIST\)/, 'address');
  await fails(t, b, { op: 'addr.add', ns, dev: 'nope', address: '192.0.2.9/24' }, 'ENODEV', /no link "nope"/, 'address');
  await fails(t, b, { op: 'addr.del', ns, dev: 'v0', address: '192.0.2.77/24' }, 'EADDRNOTAVAIL', /\(EADDRNOTAVAIL\)/, 'address');
  await fails(t, b, { op: 'route.add', ns, to: '198.51.100.0/24', via: '203.0.113.1' }, 'ENETUNREACH', /Nexthop has invalid gateway \(ENETUNREACH\)/, 'route');
  await fails(t, b, { op: 'route.add', ns, to: '198.51.100.0/24', dev: 'v0' }, 'ENETDOWN', /Device for nexthop is not up \(ENETDOWN\)/, 'route');
  await b.run(step({ op: 'link.set', ns, name: 'v0', up: true }));
  await b.run(step({ op: 'link.set', ns, name: 'v1', up: true }));
  await b.run(step({ op: 'route.add', ns, to: '198.51.100.0/24', dev: 'v0' }));
  await fails(t, b, { op: 'route.add', ns, to: '198.51.100.0/24', dev: 'v0' }, 'EEXIST', /File exists: a route to 198.51.100.0\/24 already exists \(EEXIST\)/, 'route');
  await fails(t, b, { op: 'route.del', ns, to: '203.0.113.0/24', dev: 'v0' }, 'ESRCH', /no route to 203.0.113.0\/24 to delete \(ESRCH\)/, 'route');
  await fails(t, b, { op: 'sysctl.set', ns, key: 'net.ipv4.no_such_knob', value: '1' }, 'ENOENT', /sysctl "net.ipv4.no_such_knob" does not exist in this kernel/, 'sysctl');
  // ifPresent skips only a subsystem the kernel lacks; a missing device under net/ipv6 is still an error.
  await fails(t, b, { op: 'sysctl.set', ns, key: 'net/ipv6/conf/nope/disable_ipv6', value: '1', ifPresent: true }, 'ENOENT', /sysctl "net\/ipv6\/conf\/nope\/disable_ipv6" does not exist/, 'sysctl');
  await b.run(step({ op: 'sysctl.set', ns, key: 'net/no_such_family/conf/v0/disable', value: '1', ifPresent: true }));
  await b.run(step({ op: 'sysctl.set', ns, key: 'net/ipv6/conf/v0/disable_ipv6', value: '1', ifPresent: true }));
  t.is(execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/v0/disable_ipv6'], { encoding: 'utf8' }).trim(), '1');
  const off = await t.throwsAsync(b.run(step({ op: 'offload.set', ns, dev: 'v0', features: { 'no-such-feature': false } })), { instanceOf: OpError });
  t.regex(off?.message ?? '', new RegExp(`\\(netns ${ns}\\):[\\s\\S]*ethtool -K v0 no-such-feature off`));
  await fails(t, b, { op: 'netns.add', ns, tag: 'x' }, 'EEXIST', new RegExp(`namespace "${ns}" already exists`), 'namespace');
});

privTest('netlink: execute stops at the first failing step and names it', async (t) => {
  const { b, ns } = await lab(t);
  const steps: Step[] = [
    { id: 1, subject: 'a', op: { op: 'link.set', ns, name: 'v0', up: true }, undo: null },
    { id: 2, subject: 'tunnel "t9"', op: { op: 'link.add', ns, link: { kind: 'vxlan', name: 't9', vxlan: { vni: 1 << 24, dstport: 4789 } } }, undo: null },
    { id: 3, subject: 'c', op: { op: 'link.set', ns, name: 'v1', up: true }, undo: null },
  ];
  const done: number[] = [];
  const e = await t.throwsAsync(b.execute(steps, { intent: async () => {}, done: (s) => void done.push(s.id) }), { instanceOf: StepFailed });
  t.is(e?.step.id, 2);
  t.true(e?.cause instanceof OpError);
  t.deepEqual(done, [1]);
  t.false(execFileSync('ip', ['-n', ns, 'link', 'show', 'v1'], { encoding: 'utf8' }).includes(',UP'), 'step 3 never ran');
});

privTest('netlink: offload.set and sysctl.set really apply in the namespace', async (t) => {
  const { b, ns } = await lab(t);
  await b.run(step({ op: 'offload.set', ns, dev: 'v0', features: { tx: false } }));
  const k = execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', 'v0'], { encoding: 'utf8' });
  t.regex(k, /tx-checksumming: off/);
  await b.run(step({ op: 'sysctl.set', ns, key: 'net.ipv6.conf.v0.disable_ipv6', value: '1' }));
  t.is(execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/v0/disable_ipv6'], { encoding: 'utf8' }).trim(), '1');
}, { tools: ['ethtool'] });
