/**
 * The offline box's pure rules (vagrant/box/spec.ts): parsing apt's simulated install, the cache
 * key, mmdebstrap's argv, the kernel command line — and that the Vagrantfile (Ruby) builds the
 * very same command line as spec.ts, checked by evaluating the Vagrantfile's helper with ruby.
 */
import test from 'ava';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  BASE_CMDLINE,
  BOX_PACKAGES,
  DPKG_EXCLUDES,
  boxCmdline,
  boxKey,
  mmdebstrapArgv,
  parseSimulatedInstall,
  resolvePatterns,
  sourcesList,
} from '../../../vagrant/box/spec.js';
import { hasTool } from '../../support/priv.js';

const root = resolve(import.meta.dirname, '../../..');

const SIM = `NOTE: This is only a simulation!
Inst base-files (12.4+deb12u11 Debian:12.11/stable [amd64])
Inst linux-image-6.1.0-57-amd64 (6.1.192-3 Debian-Security:12/oldstable-security [amd64])
Inst libc6 [2.36-9] (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])
Conf base-files (12.4+deb12u11 Debian:12.11/stable [amd64])
`;

test('parseSimulatedInstall: name and version of every Inst line (upgrades too), nothing from Conf lines', (t) => {
  const m = parseSimulatedInstall(SIM);
  t.deepEqual([...m], [
    ['base-files', '12.4+deb12u11'],
    ['linux-image-6.1.0-57-amd64', '6.1.192-3'],
    ['libc6', '2.36-9+deb12u14'],
  ]);
});

const files = { 'vagrant/box/customize.sh': 'aa', 'vagrant/box/init': 'bb' };

test('boxKey: same inputs in any order give the same key', (t) => {
  const a = boxKey({ packages: new Map([['a', '1'], ['b', '2']]), files });
  const b = boxKey({ packages: new Map([['b', '2'], ['a', '1']]), files: { 'vagrant/box/init': 'bb', 'vagrant/box/customize.sh': 'aa' } });
  t.is(a, b);
  t.regex(a, /^[0-9a-f]{16}$/);
});

test('boxKey: a new package version, a new package or a changed build file changes the key', (t) => {
  const base = boxKey({ packages: new Map([['a', '1'], ['b', '2']]), files });
  t.not(boxKey({ packages: new Map([['a', '1'], ['b', '3']]), files }), base);
  t.not(boxKey({ packages: new Map([['a', '1'], ['b', '2'], ['c', '1']]), files }), base);
  t.not(boxKey({ packages: new Map([['a', '1'], ['b', '2']]), files: { ...files, 'vagrant/box/init': 'cc' } }), base);
});

test('the package list has what the lab and the IPsec scenarios drive on a box', (t) => {
  for (const p of ['linux-image-amd64', 'openssh-server', 'sudo', 'iproute2', 'openvswitch-switch', 'iperf3', 'tcpdump', 'strongswan', 'openvswitch-ipsec'])
    t.true((BOX_PACKAGES as readonly string[]).includes(p), p);
  // charon's gcm plugin (a Recommends that --no-install-recommends drops): OVS's IKE proposal is
  // AES-GCM, and without the plugin IKE never completes between the boxes.
  for (const p of ['libstrongswan-standard-plugins'])
    t.true((BOX_PACKAGES as readonly string[]).includes(p), p);
  t.deepEqual(resolvePatterns().slice(0, 3), ['?essential', '?priority(required)', 'apt']);
});

test('mmdebstrapArgv: minbase, root mode, our packages, no recommends, excludes, the hook, the three suites', (t) => {
  const argv = mmdebstrapArgv({ target: '/x/tree', customizeHook: '/p/customize.sh', mirrors: { debian: 'http://m/debian', security: 'http://m/sec' } });
  t.is(argv[0], 'mmdebstrap');
  t.true(argv.includes('--variant=minbase'));
  t.true(argv.includes('--mode=root'));
  t.true(argv.includes(`--include=${BOX_PACKAGES.join(',')}`));
  t.true(argv.includes('--aptopt=Apt::Install-Recommends "false"'));
  t.true(argv.includes('--customize-hook=/p/customize.sh'));
  for (const p of DPKG_EXCLUDES) t.true(argv.includes(`--dpkgopt=path-exclude=${p}`));
  // Nothing under net/ (tunnels, OVS, XFRM, netfilter) is excluded.
  t.false(DPKG_EXCLUDES.some((p) => /kernel\/net\/(openvswitch|ipv4|ipv6|xfrm|netfilter|sched)/.test(p)));
  t.deepEqual(argv.slice(-5), ['bookworm', '/x/tree', ...sourcesList({ debian: 'http://m/debian', security: 'http://m/sec' })]);
  t.deepEqual(sourcesList({ debian: 'http://m/debian', security: 'http://m/sec' }), [
    'deb http://m/debian bookworm main',
    'deb http://m/debian bookworm-updates main',
    'deb http://m/sec bookworm-security main',
  ]);
});

test('boxCmdline: hostname and static addresses in systemd-network-generator syntax', (t) => {
  const c = boxCmdline('box-1', [
    { ifname: 'eth0', ipv4: '192.0.2.11/24' },
    { ifname: 'eth1', ipv4: '192.168.56.11/24', ipv6: '2001:db8:56::11/64' },
  ]);
  t.is(
    c,
    `${BASE_CMDLINE} systemd.hostname=box-1 ip=192.0.2.11:::255.255.255.0::eth0:off ip=192.168.56.11:::255.255.255.0::eth1:off ip=[2001:db8:56::11]:::64::eth1:off`,
  );
  t.regex(boxCmdline('b', [{ ifname: 'eth0', ipv4: '198.51.100.5/28' }]), /ip=198\.51\.100\.5:::255\.255\.255\.240::eth0:off/);
  t.regex(boxCmdline('b', [], 'root=/dev/vdz'), /root=\/dev\/vdz$/);
  t.throws(() => boxCmdline('Box 1', []), { message: /hostname/ });
  t.throws(() => boxCmdline('b', [{ ifname: 'eth0;x', ipv4: '1.2.3.4/24' }]), { message: /interface/ });
});

test('BASE_CMDLINE: root is the whole virtio disk, kernel interface names, console on the serial port', (t) => {
  for (const w of ['root=/dev/vda', 'rw', 'console=ttyS0', 'net.ifnames=0']) t.true(BASE_CMDLINE.split(' ').includes(w), w);
});

(hasTool('ruby') ? test : test.skip)('the Vagrantfile builds the same kernel command line as spec.ts (ruby evaluates its helper)', async (t) => {
  const vf = await readFile(join(root, 'Vagrantfile'), 'utf8');
  t.true(vf.includes(`OFFLINE_BASE_CMDLINE = '${BASE_CMDLINE}'`), 'OFFLINE_BASE_CMDLINE must equal spec.ts BASE_CMDLINE');
  // Load the Vagrantfile with a stand-in Vagrant module and print the helper's result.
  const script = 'module Vagrant; def self.configure(*); end; end; load ARGV[0]; BOXES.each { |n, a| puts offline_cmdline(n, a) }';
  const r = await execa('ruby', ['-e', script, join(root, 'Vagrantfile')], { env: { GL_BOX: 'geneve-lab/debian12', GL_BOX_KERNEL_ARGS: '' } });
  t.deepEqual(r.stdout.trim().split('\n'), [
    boxCmdline('box-1', [
      { ifname: 'eth0', ipv4: '192.0.2.11/24' },
      { ifname: 'eth1', ipv4: '192.168.56.11/24', ipv6: '2001:db8:56::11/64' },
    ]),
    boxCmdline('box-2', [
      { ifname: 'eth0', ipv4: '192.0.2.12/24' },
      { ifname: 'eth1', ipv4: '192.168.56.12/24', ipv6: '2001:db8:56::12/64' },
    ]),
  ]);
});

test("the box's Vagrantfile template: direct kernel boot, guest agent, Vagrant's insecure key kept, base command line filled in", async (t) => {
  const vf = await readFile(join(root, 'vagrant/box/Vagrantfile.box'), 'utf8');
  for (const s of ["lv.kernel = File.join(BOX_DIR, 'vmlinux')", "lv.initrd = File.join(BOX_DIR, 'initrd.img')", 'lv.qemu_use_agent = true', 'config.ssh.insert_key = false', 'config.vm.guest = :debian', "'@BASE_CMDLINE@'"])
    t.true(vf.includes(s), s);
});
