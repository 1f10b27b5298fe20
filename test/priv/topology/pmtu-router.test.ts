/**
 * PMTU through routers on real namespaces (issue 14, item 6 and the mtu-check bug):
 * recipes/pmtu-router.yaml — a routed underlay whose middle is narrower (4000) than the hosts'
 * jumbo networks — passes its mtu checks over IPv4 and IPv6 outer headers because the guests LEARN
 * PMTU exceptions (the check used to fail them for a sender MTU above the path MTU);
 * recipes/pmtu-blackhole.yaml, the same lab whose routers drop their ICMP too-big errors, fails
 * them as a black hole. What the kernel did is read independently (`ip -j route get`,
 * `nft -j list ruleset`, /proc/sys in the router), and nothing is left behind or changed outside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { privTest } from '../../support/priv.js';
import { NOTHING_LEFT, OVS_TOOLS, leftovers, recipeCopy, rootLinks, runJson, type RecipeCopy } from '../ovs-recipes/support.js';

const TOOLS = { tools: ['ping', 'nft', 'ethtool'] };

/** The system's nft (under npx, PATH starts with node_modules/.bin, where ava's @vercel/nft puts an `nft`). */
const NFT = (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/') && !d.includes('node_modules')).map((d) => `${d}/nft`).find((f) => existsSync(f)) ?? 'nft';

/** The root namespace's links, addresses, routes (both families) and nftables ruleset. */
function rootState(): string {
  const run = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return [rootLinks().join(','), run(['ip', '-br', 'addr']), run(['ip', 'route']), run(['ip', '-6', 'route']), run([NFT, 'list', 'ruleset'])].join('\n---\n');
}

/** `ip -j route get` inside a namespace: the learned PMTU exception (metrics mtu), if any. */
function exceptionTo(ns: string, dst: string): number | undefined {
  const r = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'route', 'get', dst], { encoding: 'utf8' }))[0];
  return r?.metrics?.find((m: { mtu?: number }) => m.mtu !== undefined)?.mtu;
}

function sysctl(ns: string, key: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`], { encoding: 'utf8' }).trim();
}

/** Packets counted by the router's icmp_too_big rules (nft -j), by rule family. */
function droppedIcmp(ns: string): { v4: number; v6: number } | undefined {
  const out = execFileSync('ip', ['netns', 'exec', ns, NFT, '-j', 'list', 'ruleset'], { encoding: 'utf8' });
  const rules = (JSON.parse(out).nftables as any[]).filter((x) => x.rule).map((x) => x.rule);
  if (!rules.length) return undefined;
  const count = (proto: string) =>
    rules.filter((r) => JSON.stringify(r.expr).includes(`"protocol":"${proto}"`)).reduce((n, r) => n + (r.expr.find((e: any) => e.counter)?.counter.packets ?? 0), 0);
  return { v4: count('icmp'), v6: count('icmpv6') };
}

function up(t: ExecutionContext, c: RecipeCopy, backend: string): void {
  const r = c.g(['--backend', backend, 'up', '--no-checks', c.file]);
  t.is(r.code, 0, r.stdout + r.stderr);
}

function checks(c: RecipeCopy): { code: number; byName: Record<string, any>; out: string } {
  const r = c.g(['check', '--json', c.file]);
  const byName = Object.fromEntries((JSON.parse(r.stdout).checks as any[]).map((x) => [x.name, x]));
  return { code: r.code, byName, out: r.stdout + r.stderr };
}

for (const backend of ['netlink', 'iproute2']) {
  privTest(`pmtu-router (${backend}): guests above the path MTU learn PMTU exceptions through the routers — the mtu checks PASS over IPv4 and IPv6 outer headers`, async (t) => {
    const before = rootState();
    const c = recipeCopy(t, 'pmtu-router.yaml');
    const ns = (n: string) => `gl-${c.lab}-${n}`;
    up(t, c, backend);
    // The routers: forwarding on, no ICMP rate limit, no firewall rule.
    for (const r of ['r1', 'r2']) {
      t.is(sysctl(ns(r), 'net.ipv4.ip_forward'), '1');
      t.is(sysctl(ns(r), 'net.ipv6.conf.all.forwarding'), '1');
      t.is(sysctl(ns(r), 'net.ipv4.icmp_ratelimit'), '0');
      t.is(droppedIcmp(ns(r)), undefined, 'icmp_too_big: send installs no nftables rule');
    }
    t.is(exceptionTo(ns('left'), '203.0.113.2'), undefined, 'nothing learned before the checks');

    const r = checks(c);
    const b = r.byName;
    t.is(r.code, 0, r.out);
    for (const n of ['small-v4', 'small-v6', 'pmtu-v4', 'pmtu-v6']) t.is(b[n]?.status, 'passed', `${n}: ${b[n]?.message}\n${r.out}`);
    t.like(b['pmtu-v4'].figures, { path_mtu: 3950, expected_mtu: 3950, sender_mtu: 8950, pmtu_exception: 3950, refused: '3951 B: icmp-too-big' });
    t.like(b['pmtu-v6'].figures, { path_mtu: 3930, expected_mtu: 3930, sender_mtu: 8930, pmtu_exception: 3930, refused: '3931 B: icmp-too-big' });
    t.true(b['pmtu-v4'].details.assertions.every((a: any) => a.ok), JSON.stringify(b['pmtu-v4'].details.assertions));

    // The kernel's own view: the guests and the hosts learned exceptions (the hosts from the router).
    t.is(exceptionTo(ns('left'), '203.0.113.2'), 3950);
    t.is(exceptionTo(ns('left6'), '2001:db8:100::2'), 3930);
    t.is(exceptionTo(ns('box-1'), '192.0.2.140'), 4000);
    t.is(exceptionTo(ns('box-1'), '2001:db8:3::12'), 4000);

    t.is(c.g(['down', c.lab]).code, 0);
    t.deepEqual(leftovers(c), NOTHING_LEFT);
    t.is(rootState(), before, 'the root namespace (links, addresses, routes, nftables) is untouched');
  }, TOOLS);
}

for (const backend of ['netlink', 'iproute2']) {
  privTest(`pmtu-blackhole (${backend}): routers that drop their ICMP too-big errors — the mtu checks FAIL as a PMTU black hole, naming what they saw`, async (t) => {
    const before = rootState();
    const c = recipeCopy(t, 'pmtu-blackhole.yaml');
    const ns = (n: string) => `gl-${c.lab}-${n}`;
    up(t, c, backend);
    t.deepEqual(droppedIcmp(ns('r1')), { v4: 0, v6: 0 }, 'the rules are in the router, nothing dropped yet');
    const r = checks(c);
    const b = r.byName;
    t.is(r.code, 1, r.out);
    t.is(b['small-v4']?.status, 'passed', 'small packets cross: the fault is about size only');
    t.is(b['small-v6']?.status, 'passed');
    for (const [n, mtu] of [['pmtu-v4', 3950], ['pmtu-v6', 3930]] as const) {
      t.is(b[n]?.status, 'failed', `${n}\n${r.out}`);
      t.is(b[n].message, `path MTU is ${mtu} as expected, but DF packets of ${mtu + 1} B vanish without an ICMP error: a PMTU black hole (a sender whose MTU is larger than ${mtu} loses big packets silently)`);
      t.like(b[n].figures, { path_mtu: mtu, black_hole: true, refused: `${mtu + 1} B: vanished` });
      const bad = b[n].details.assertions.filter((a: any) => !a.ok);
      t.deepEqual(bad.map((a: any) => [a.field, a.observed]), [[`how DF packets of ${mtu + 1} B are refused`, '"vanished"']]);
    }
    // The kernel's view: r1 dropped ICMP errors of both families, nobody learned anything.
    const dropped = droppedIcmp(ns('r1'))!;
    t.true(dropped.v4 > 0 && dropped.v6 > 0, JSON.stringify(dropped));
    t.is(exceptionTo(ns('left'), '203.0.113.2'), undefined);
    t.is(exceptionTo(ns('box-1'), '192.0.2.140'), undefined);
    t.is(c.g(['down', c.lab]).code, 0);
    t.deepEqual(leftovers(c), NOTHING_LEFT);
    t.is(rootState(), before, 'the rules lived in the routers only: the root ruleset is untouched');
  }, TOOLS);
}

privTest('routers are the lab\'s like hosts: gc removes them after the state is lost; a router is a ping endpoint and a capture host', async (t) => {
  const c = recipeCopy(t, 'pmtu-router.yaml', (s) =>
    s.replace(/checks:[\s\S]*$/, `checks:
  - { name: r1-to-box-2, ping: { from: r1, to: box-2, family: ipv6 } }
  - { name: through-r1, ping: { from: box-1, to: box-2, count: 5 } }
  - capture: { host: r1, interface: middle, during: through-r1, at_least: 5, expect: { encap: vxlan, vxlan.vni: 4 } }
`).replace('{ name: tun4, between: [sw1-v4, sw2-v4], type: vxlan, vni: 4, family: ipv4, df: inherit }', '{ name: tun4, between: [box-1, box-2], type: vxlan, vni: 4, family: ipv4, addresses: [198.51.100.1/30, 198.51.100.2/30] }')
      .replace(/ {2}- \{ name: sw[12]-v4, host: box-\d \}\n/g, '')
      .replace(/ {2}- \{ name: (left|right), switch: sw[12]-v4[^\n]*\n/g, '')
      .replace('{ name: through-r1, ping: { from: box-1, to: box-2, count: 5 } }', '{ name: through-r1, ping: { from: box-1, to: 198.51.100.2, count: 5 } }'),
  );
  const r = runJson(c);
  t.is(r.code, 0, r.out);
  t.is(r.checks['r1-to-box-2']?.status, 'passed', r.out);
  t.is(r.checks['capture r1']?.status, 'passed', r.out);

  // gc: bring it up again, lose the state (a crash that took the state directory with it).
  t.is(c.g(['up', '--no-checks', c.file]).code, 0);
  const routers = [`gl-${c.lab}-r1`, `gl-${c.lab}-r2`];
  for (const n of routers) t.true(leftovers(c).namespaces.includes(n));
  execFileSync("rm", ["-rf", `${c.stateDir}/labs`]);
  const st = c.g(['status', '--json', c.lab]);
  t.notRegex(st.stdout, /"phase"/, 'the state is gone');
  const gc = c.g(['gc']);
  t.is(gc.code, 0, gc.stdout + gc.stderr);
  t.deepEqual(leftovers(c).namespaces, [], 'gc removed every namespace of the lab, the routers included');
}, TOOLS);

privTest('OVS ends across a routed underlay (userspace datapath): the tunnels work through the routers; OVS sends no ICMP for bridged traffic, and the mtu check says so (black hole)', async (t) => {
  const c = recipeCopy(t, 'pmtu-router.yaml', (s) =>
    s
      .replace(/\{ name: (sw\d-v\d), host: (box-\d) \}/g, '{ name: $1, host: $2, kind: ovs }')
      .replace('type: vxlan, vni: 4, family: ipv4, df: inherit', 'type: geneve, vni: 4, family: ipv4')
      .replace('type: vxlan, vni: 6, family: ipv6', 'type: geneve, vni: 6, family: ipv6'),
  );
  const r = runJson(c);
  t.is(r.code, 1, r.out);
  t.is(r.checks['small-v4']?.status, 'passed', r.out);
  t.is(r.checks['small-v6']?.status, 'passed', r.out);
  // The router did answer the hosts; OVS's userspace datapath does not pass that on to the guests.
  t.is(r.checks['pmtu-v4']?.status, 'failed', r.out);
  t.regex(r.checks['pmtu-v4']!.message!, /^path MTU is 3950 as expected, but DF packets of 3951 B vanish without an ICMP error: a PMTU black hole/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, { tools: [...OVS_TOOLS.tools, 'ping'] });

privTest('refused: a scenario asserts how the path refuses big DF packets — the black hole of pmtu-blackhole passes as refused: silent and fails as refused: icmp, naming what it saw', async (t) => {
  const c = recipeCopy(t, 'pmtu-blackhole.yaml');
  up(t, c, 'netlink');
  const variant = (refusal: string) => {
    const file = c.file.replace(/\.yaml$/, `-${refusal}.yaml`);
    writeFileSync(file, readFileSync(c.file, 'utf8').replace(/(mtu: \{ from: left6?, to: right6?, expect: \d+) \}/g, `$1, refused: ${refusal} }`));
    const r = c.g(['check', '--json', file]);
    return { code: r.code, byName: Object.fromEntries((JSON.parse(r.stdout).checks as any[]).map((x) => [x.name, x])), out: r.stdout + r.stderr };
  };
  const silent = variant('silent');
  t.is(silent.code, 0, silent.out);
  for (const [n, mtu] of [['pmtu-v4', 3950], ['pmtu-v6', 3930]] as const) {
    t.is(silent.byName[n]?.status, 'passed', `${n}\n${silent.out}`);
    t.like(silent.byName[n].figures, { path_mtu: mtu, black_hole: true, refused: `${mtu + 1} B: vanished` });
  }
  const icmp = variant('icmp');
  t.is(icmp.code, 1, icmp.out);
  t.is(icmp.byName['pmtu-v4']?.status, 'failed', icmp.out);
  t.is(icmp.byName['pmtu-v4'].message, 'path MTU is 3950 as expected, but DF packets of 3951 B vanish without an ICMP error; expected (refused: icmp) an ICMP too-big from the path');
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, TOOLS);
