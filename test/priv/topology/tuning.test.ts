/**
 * Link tuning on real namespaces (issue 14, item 8): offloads, gso_max_size and gro_max_size on
 * every kind of interface the lab makes — host NICs, routers, switches, guests, kernel tunnel
 * devices — with both backends, read back with ethtool and `ip -d -j` (not through lib/); a feature
 * a device cannot change and a size it refuses fail `up` with the device, its namespace and the
 * tool's or kernel's words, and leave nothing behind; `status` shows the tunnel-offload features.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { cli } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';

const TOOLS = { tools: ['ping', 'ethtool'] };

const tuned = (lab: string, tunnelExtra = '', guestExtra = '') => `lab: ${lab}
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, offloads: { tso: off, gro: on }, gso_max_size: 16384, gro_max_size: 32768 }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24 }]
routers:
  - { name: r1, interfaces: [{ ipv4: 192.0.2.1/24, offloads: { rx-udp-gro-forwarding: on }, gro_max_size: 40000 }] }
switches:
  - { name: sw1, host: box-1, offloads: { tx-udp_tnl-segmentation: off } }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24], offload: { tx: false }, offloads: { gro: off, tx-udp_tnl-csum-segmentation: off }${guestExtra} }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, vni: 7, gso_max_size: 32768, gro_max_size: 65536${tunnelExtra} }
checks:
  - { name: across, ping: { from: left, to: right } }
  - { name: to-router, ping: { from: box-2, to: r1 } }
`;

function lab(t: ExecutionContext, text: (name: string) => string) {
  const name = randomLabName('tu');
  const dir = mkdtempSync(join(tmpdir(), 'gl-tune-'));
  const file = join(dir, 'tuned.yaml');
  writeFileSync(file, text(name));
  const g = (args: string[]) => cli(['--state-dir', join(dir, 'state'), ...args]);
  const left = () => netnsList().filter((n) => n.startsWith(`gl-${name}-`));
  t.teardown(() => {
    g(['down', name]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { name, file, g, left, ns: (n: string) => `gl-${name}-${n}` };
}

/** ethtool -k of one device in a namespace: feature → "on" / "off [fixed]". */
function features(ns: string, dev: string): Record<string, string> {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8' });
  return Object.fromEntries([...out.matchAll(/^\s*([a-z0-9_-]+): (\S+(?: \[fixed\])?)/gm)].map((m) => [m[1], m[2]]));
}
function link(ns: string, dev: string): any {
  return JSON.parse(execFileSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }))[0];
}

for (const backend of ['netlink', 'iproute2']) {
  privTest(`link tuning (${backend}): offloads and GSO/GRO sizes land on host NICs, routers, switches, guests and tunnel devices; status shows tunnel offloads`, async (t) => {
    const l = lab(t, (n) => tuned(n));
    const up = l.g(['--backend', backend, 'up', '--no-checks', l.file]);
    t.is(up.code, 0, up.stdout + up.stderr);
    const nic = features(l.ns('box-1'), 'underlay');
    t.is(nic['tx-tcp-segmentation'], 'off');
    t.is(nic['generic-receive-offload'], 'on');
    t.like(link(l.ns('box-1'), 'underlay'), { gso_max_size: 16384, gro_max_size: 32768 });
    t.is(features(l.ns('r1'), 'underlay')['rx-udp-gro-forwarding'], 'on');
    t.is(link(l.ns('r1'), 'underlay').gro_max_size, 40000);
    t.is(features(l.ns('box-1'), 'sw1')['tx-udp_tnl-segmentation'], 'off');
    const guest = features(l.ns('left'), 'eth0');
    t.is(guest['generic-receive-offload'], 'off');
    t.is(guest['tx-udp_tnl-csum-segmentation'], 'off');
    t.is(guest['tx-checksumming'], 'off', 'the older offload: still applies');
    t.like(link(l.ns('box-1'), 'tun0'), { gso_max_size: 32768, gro_max_size: 65536 });
    // Untouched interfaces keep the kernel's defaults.
    t.is(link(l.ns('box-2'), 'underlay').gso_max_size, 65536);
    t.is(features(l.ns('box-2'), 'underlay')['tx-tcp-segmentation'], 'on');

    const chk = l.g(['check', l.file]);
    t.is(chk.code, 0, chk.stdout + chk.stderr);

    const st = l.g(['status', '--json', l.name]);
    t.is(st.code, 0, st.stderr);
    const links = (JSON.parse(st.stdout).labs[0].namespaces as any[]).flatMap((n) => n.links.map((k: any) => ({ ns: n.name, ...k })));
    const of = (ns: string, ifname: string) => links.find((k) => k.ns === ns && k.ifname === ifname)?.offloads;
    t.deepEqual(of(l.ns('box-1'), 'sw1'), { 'tx-udp_tnl-segmentation': 'off', 'tx-udp_tnl-csum-segmentation': features(l.ns('box-1'), 'sw1')['tx-udp_tnl-csum-segmentation'] });
    t.deepEqual(of(l.ns('box-1'), 'tun0'), { 'tx-udp_tnl-segmentation': 'off [fixed]', 'tx-udp_tnl-csum-segmentation': 'off [fixed]' });
    t.deepEqual(of(l.ns('left'), 'eth0'), { 'tx-udp_tnl-segmentation': 'on', 'tx-udp_tnl-csum-segmentation': 'off' });
    const text = l.g(['status', l.name]).stdout;
    t.regex(text, /tun0 +vxlan +\S+ +tx-udp_tnl-segmentation off \[fixed\], tx-udp_tnl-csum-segmentation off \[fixed\]/);

    t.is(l.g(['down', l.name]).code, 0);
    t.deepEqual(l.left(), []);
  }, TOOLS);

  privTest(`link tuning (${backend}): a feature the device cannot change fails up naming the device, namespace and feature — ethtool exits 0 for it — and rolls back`, async (t) => {
    const l = lab(t, (n) => tuned(n, ', offloads: { tso: off, tx-udp_tnl-segmentation: on }'));
    const up = l.g(['--backend', backend, 'up', '--no-checks', l.file]);
    t.is(up.code, 4, up.stdout + up.stderr);
    t.regex(up.stderr, /tunnel "tun0" on host "box-1" offloads/);
    t.regex(up.stderr, new RegExp(`gl-${l.name}-box-1`));
    t.regex(up.stderr, /the device refused: tx-udp_tnl-segmentation stays off \(asked on; the device cannot change it\)/);
    t.notRegex(up.stderr, /\n\s+at /, 'no stack trace');
    t.deepEqual(l.left(), [], 'rolled back: nothing left');
  }, TOOLS);

  privTest(`link tuning (${backend}): a GSO size above the device's limit fails up with the kernel's words`, async (t) => {
    const l = lab(t, (n) => tuned(n, '', ', gso_max_size: 524288'));
    const up = l.g(['--backend', backend, 'up', '--no-checks', l.file]);
    t.is(up.code, 4, up.stdout + up.stderr);
    t.regex(up.stderr, /guest "left" GSO\/GRO sizes/);
    t.regex(up.stderr, /too big gso_max_size/i);
    t.deepEqual(l.left(), []);
  }, TOOLS);
}
