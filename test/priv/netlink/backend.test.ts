/**
 * The netlink backend against the real kernel, judged by an independent oracle
 * (`ip -d -j … show`, see oracle.ts) and by traffic inside the lab.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { createNetlinkBackend, type NetlinkBackend } from '../../../lib/backends/netlink/index.js';
import type { Step } from '../../../lib/plan/ops.js';
import { snapshot, namespacesWithPrefix, removeNamespaces } from './oracle.js';
import { scenarioSteps, scenarioIproute2 } from './scenario.js';

async function backendFor(t: ExecutionContext, namespaces: string[]): Promise<NetlinkBackend> {
  const backend = await createNetlinkBackend();
  t.teardown(async () => {
    await backend.close();
    removeNamespaces(namespaces.filter((n) => existsSync(`/run/netns/${n}`)));
  });
  return backend;
}

/** Hooks that record the order of events and check that intent always precedes done. */
const hooks = (done: Step[] = [], log: string[] = []) => {
  const announced = new Set<number>();
  return {
    intent: async (steps: readonly Step[]) => {
      for (const s of steps) announced.add(s.id);
      log.push(`intent ${steps.map((s) => s.id).join(',')}`);
    },
    done: (s: Step) => {
      if (!announced.has(s.id)) throw new Error(`step ${s.id} done before its intent was recorded`);
      log.push(`done ${s.id}`);
      done.push(s);
    },
  };
};

privTest('netlink: namespaces, veth across namespaces, bridge, vxlan, addresses, routes, sysctl — as the oracle reads them', async (t) => {
  const lab = randomLabName('nl');
  const [a, b] = [`${lab}-a`, `${lab}-b`];
  const backend = await backendFor(t, [a, b]);
  const steps = scenarioSteps(a, b, `gl-${lab}`);
  const done: Step[] = [];
  const log: string[] = [];
  await backend.execute(steps, hooks(done, log));
  t.deepEqual(done.map((s) => s.id), steps.map((s) => s.id));
  t.is(log[0], 'intent 1,2', 'netns.add steps run in the caller namespace and are announced together');
  t.is(log[1], 'done 1');

  const sa = snapshot(a, { macs: true });
  const sb = snapshot(b);
  const link = (s: typeof sa, n: string) => s.links.find((l) => l.name === n);
  t.like(link(sa, 'lo'), { up: true, alias: `gl-${lab}` });
  t.like(link(sb, 'lo'), { up: true, alias: `gl-${lab}` });
  t.like(link(sa, 'va'), { kind: 'veth', mtu: 1450, up: true, alias: 'to box-2', peer: 'other-netns', mac: '02:00:00:00:00:0a' });
  t.like(link(sb, 'vb'), { kind: 'veth', mtu: 1450, up: true, alias: 'to box-1', peer: 'other-netns', master: 'br0', slaveKind: 'bridge' });
  t.like(link(sb, 'br0'), { kind: 'bridge', mtu: 1450, up: true });
  t.is(link(sb, 'vx6')?.master, undefined, 'nomaster released the port');
  t.like(link(sa, 'vx0'), { kind: 'vxlan', mtu: 1400, up: true });
  t.like(link(sa, 'vx0')!.infoData!, {
    id: 4242, remote: '192.0.2.2', local: '192.0.2.1', port: 4789, ttl: 17, tos: '0x10', learning: false, df: 'set', port_range: { low: 5000, high: 6000 },
  });
  t.like(link(sb, 'vx6')!.infoData!, { id: 7, remote6: '2001:db8::1', port: 8472, label: '0x12345', udp_zero_csum6_tx: true });
  t.false('ttl' in link(sb, 'vx6')!.infoData!, 'ttl inherit shows as no ttl key');
  t.deepEqual(
    sa.addrs.filter((x) => x.startsWith('va ')),
    ['va inet 192.0.2.1/24 global', 'va inet6 2001:db8::1/64 global nodad'],
  );
  t.true(sb.addrs.includes('br0 inet6 2001:db8::2/64 global nodad'));
  t.true(sa.routes.includes('inet 198.51.100.0/24 via 192.0.2.2 dev va proto boot scope global'));
  t.true(sa.routes.includes('inet6 default via 2001:db8::2 dev va proto boot scope global'));
  t.true(sb.routes.includes('inet 203.0.113.0/24 dev br0 proto boot scope link'));
  const fwd = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim();
  t.is(fwd(a), '1');
  t.is(fwd(b), '0', 'sysctl stayed in its namespace');
  t.is(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1' ? 'root changed?' : 'ok', 'ok');

  // traffic inside the lab proves the links really connect
  // -w: keep asking for up to 5 s — under load the veth's carrier (linkwatch) can come a moment after the steps end.
  const ping = spawnSync('ip', ['netns', 'exec', a, 'ping', '-c', '1', '-i', '0.2', '-w', '5', '192.0.2.2'], { encoding: 'utf8' });
  t.is(ping.status, 0, ping.stdout + ping.stderr);

  // undo through the backend: address, route, links, then the namespaces
  await backend.run({ id: 90, subject: 'addr', op: { op: 'addr.del', ns: a, dev: 'va', address: '192.0.2.1/24' }, undo: null });
  await backend.run({ id: 91, subject: 'route', op: { op: 'route.del', ns: a, to: 'default', via: '2001:db8::2' }, undo: null });
  await backend.run({ id: 92, subject: 'tunnel', op: { op: 'link.del', ns: a, name: 'vx0' }, undo: null });
  const after = snapshot(a);
  t.false(after.addrs.some((x) => x.includes('192.0.2.1')));
  t.false(after.routes.some((x) => x.includes('default')));
  t.false(after.links.some((l) => l.name === 'vx0'));
  for (const ns of [a, b]) await backend.run({ id: 99, subject: `namespace "${ns}"`, op: { op: 'netns.del', ns }, undo: null });
  t.deepEqual(namespacesWithPrefix(lab), []);
});

privTest('netlink ≡ iproute2: the same scenario gives the same kernel state (oracle dumps compared)', async (t) => {
  const lab = randomLabName('nq');
  const [a1, b1, a2, b2] = [`${lab}-a`, `${lab}-b`, `${lab}-c`, `${lab}-d`];
  const backend = await backendFor(t, [a1, b1, a2, b2]);
  await backend.execute(scenarioSteps(a1, b1, 'gl-eq'), hooks());
  for (const argv of scenarioIproute2(a2, b2, 'gl-eq')) execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });
  t.deepEqual(snapshot(a1), snapshot(a2));
  t.deepEqual(snapshot(b1), snapshot(b2));
});

const iproute2Index = new URL('../../../lib/backends/iproute2/index.ts', import.meta.url);
if (existsSync(iproute2Index)) {
  privTest('netlink ≡ iproute2 backend: same Step[] through both backends, oracle dumps equal', async (t) => {
    const mod = (await import(iproute2Index.href)) as { createIproute2Backend?: (exec: unknown) => any };
    const { LocalExecutor } = await import('../../../lib/exec/executor.js');
    if (!mod.createIproute2Backend) return t.fail('lib/backends/iproute2/index.ts does not export createIproute2Backend');
    const lab = randomLabName('nb');
    const [a1, b1, a2, b2] = [`${lab}-a`, `${lab}-b`, `${lab}-c`, `${lab}-d`];
    const netlink = await backendFor(t, [a1, b1, a2, b2]);
    const iproute2 = mod.createIproute2Backend(new LocalExecutor());
    t.teardown(() => iproute2.close());
    await netlink.execute(scenarioSteps(a1, b1, 'gl-eq'), hooks());
    await iproute2.execute(scenarioSteps(a2, b2, 'gl-eq'), hooks());
    t.deepEqual(snapshot(a1), snapshot(a2));
    t.deepEqual(snapshot(b1), snapshot(b2));
  });
} else {
  process.stderr.write('\n!!! NOT RUN: netlink ≡ iproute2 backend (lib/backends/iproute2/index.ts does not exist yet)\n');
}

privTest('netlink: addresses and bridge ports find the right device by the ifindexes the backend remembers (veth peers in another namespace too)', async (t) => {
  const lab = randomLabName('nl');
  const [a, b] = [`${lab}-a`, `${lab}-b`];
  const backend = await backendFor(t, [a, b]);
  let id = 1;
  const step = (op: Step['op']): Step => ({ id: id++, subject: `step ${id}`, op, undo: null });
  const veth = (name: string, peer: string): Step['op'] => ({ op: 'link.add', ns: a, link: { kind: 'veth', name, peer: { name: peer, ns: b } } });
  const steps: Step[] = [
    step({ op: 'netns.add', ns: a, tag: 'x' }),
    step({ op: 'netns.add', ns: b, tag: 'x' }),
    // Several links per namespace, so a wrong remembered index would hit a different device.
    step(veth('a1', 'b1')),
    step({ op: 'link.add', ns: b, link: { kind: 'bridge', name: 'br0' } }),
    step(veth('a2', 'b2')),
    step({ op: 'link.add', ns: b, link: { kind: 'bridge', name: 'br1' } }),
    step({ op: 'link.set', ns: b, name: 'b2', master: 'br1', up: true }),
    step({ op: 'link.set', ns: b, name: 'b1', master: 'br0' }),
    step({ op: 'addr.add', ns: b, dev: 'b2', address: '198.51.100.2/32' }),
    step({ op: 'addr.add', ns: b, dev: 'b1', address: '198.51.100.1/32' }),
    step({ op: 'addr.add', ns: a, dev: 'a2', address: '203.0.113.2/32' }),
    step({ op: 'addr.add', ns: a, dev: 'a1', address: '203.0.113.1/32' }),
  ];
  await backend.execute(steps, hooks());
  const sa = snapshot(a);
  const sb = snapshot(b);
  const link = (s: typeof sa, n: string) => s.links.find((l) => l.name === n);
  t.is(link(sb, 'b1')?.master, 'br0');
  t.is(link(sb, 'b2')?.master, 'br1');
  for (const [s, dev, addr] of [[sb, 'b1', '198.51.100.1'], [sb, 'b2', '198.51.100.2'], [sa, 'a1', '203.0.113.1'], [sa, 'a2', '203.0.113.2']] as const)
    t.deepEqual(s.addrs.filter((x) => x.startsWith(`${dev} `)), [`${dev} inet ${addr}/32 global`], `${addr} is on ${dev}`);
});
