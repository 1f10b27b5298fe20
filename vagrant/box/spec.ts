/**
 * What the offline geneve-lab box is made of, and the pure rules around it: the Debian package
 * list, the mmdebstrap arguments, how the resolved package versions become the cache key, and
 * the kernel command line the boxes boot with. No I/O here (vagrant/box/build.ts does that), so
 * every rule is tested in the pure tier (test/pure/vagrant/box-spec.test.ts).
 */
import { createHash } from 'node:crypto';

/** The name the box is added to Vagrant under (the Vagrantfile switches to offline mode on it). */
export const BOX_NAME = 'geneve-lab/debian12';
export const BOX_FILE = 'geneve-lab-debian12.box';
export const SUITE = 'bookworm';

/** Bump when the box's layout or build steps change in a way the hashed inputs below miss. */
export const FORMAT = 1;

/**
 * Packages on top of Debian's minbase (Essential + priority required + apt). What the lab drives
 * on a box (iproute2, OVS with its kernel datapath, iperf3, tcpdump, ping, ethtool), the IKE
 * daemon of GRE over IPsec (strongswan: Debian's openvswitch-ipsec depends on it; and
 * libstrongswan-standard-plugins, only a Recommends of libstrongswan, which --no-install-recommends
 * leaves out: it holds charon's gcm plugin, and ovs-monitor-ipsec's fixed IKE proposal is
 * aes256gcm16 — without it charon accepts that proposal in IKE_SA_INIT, then cannot derive the
 * keys ("AES_GCM_16 (key size 256) not supported!") and IKE never completes), what makes it
 * a Vagrant box (openssh-server, sudo, the qemu guest agent that tells vagrant-libvirt the static
 * address), systemd with udev as init, and busybox-static for the box's own small initramfs.
 */
export const BOX_PACKAGES = [
  'linux-image-amd64',
  'systemd-sysv',
  'udev',
  'openssh-server',
  'sudo',
  'qemu-guest-agent',
  'iproute2',
  'iputils-ping',
  'ethtool',
  'procps',
  'kmod',
  'openvswitch-switch',
  'iperf3',
  'tcpdump',
  'strongswan',
  'libstrongswan-standard-plugins',
  'openvswitch-ipsec',
  'busybox-static',
] as const;

/**
 * Paths dpkg does not unpack: documentation, and kernel modules for hardware a libvirt guest
 * never has (GPUs, sound, wireless, USB, InfiniBand, media, …) — about 230 MB of the 390 MB
 * module tree. Everything under net/ (tunnels, OVS, netfilter, XFRM, qdiscs) stays.
 */
export const DPKG_EXCLUDES = [
  '/usr/share/man/*',
  '/usr/share/doc/*',
  '/usr/share/info/*',
  '/usr/share/locale/*',
  ...['sound', 'net/wireless', 'net/mac80211', 'net/bluetooth'].map((d) => `/lib/modules/*/kernel/${d}/*`),
  ...['gpu', 'media', 'infiniband', 'iio', 'staging', 'comedi', 'usb', 'bluetooth', 'hwmon', 'isdn', 'mtd', 'net/wireless', 'net/ethernet', 'net/can'].map(
    (d) => `/lib/modules/*/kernel/drivers/${d}/*`,
  ),
];
/** Kept although under an excluded path (Debian asks that copyright files stay). */
export const DPKG_INCLUDES = ['/usr/share/doc/*/copyright'];

export interface Mirrors {
  debian: string;
  security: string;
}
export const DEFAULT_MIRRORS: Mirrors = { debian: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' };

/** The box's apt sources: the release, its updates and its security updates. */
export function sourcesList(m: Mirrors): string[] {
  return [`deb ${m.debian} ${SUITE} main`, `deb ${m.debian} ${SUITE}-updates main`, `deb ${m.security} ${SUITE}-security main`];
}

/**
 * What mmdebstrap installs for variant minbase plus BOX_PACKAGES, as apt patterns: asking apt to
 * simulate exactly this gives the versions the build would install (checked against a built
 * tree's dpkg database: the same 190 packages).
 */
export function resolvePatterns(): string[] {
  return ['?essential', '?priority(required)', 'apt', ...BOX_PACKAGES];
}

/** `Inst name (version suite [arch])` lines of `apt-get -s install` → name → version. */
export function parseSimulatedInstall(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) /.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Everything that decides the box's content. Same inputs → same key → the build is skipped. */
export interface BoxInputs {
  /** Every package of the image with its version (from the simulated install). */
  packages: ReadonlyMap<string, string>;
  /** sha256 of each file the build uses (customize hook, units, init script, this spec …). */
  files: Readonly<Record<string, string>>;
  /** Identity of the host-side tools whose output lands in the box (e.g. mkfs options). */
  extra?: Readonly<Record<string, string>>;
}

export function boxKey(inp: BoxInputs): string {
  const h = createHash('sha256');
  h.update(`format ${FORMAT}\n`);
  for (const [name, version] of [...inp.packages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`pkg ${name}=${version}\n`);
  for (const [path, sum] of Object.entries(inp.files).sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`file ${path} ${sum}\n`);
  for (const [k, v] of Object.entries(inp.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`extra ${k} ${v}\n`);
  return h.digest('hex').slice(0, 16);
}

/** mmdebstrap's argv (root mode, minbase, our packages, excludes, the customize hook). */
export function mmdebstrapArgv(o: { target: string; customizeHook: string; mirrors: Mirrors }): string[] {
  return [
    'mmdebstrap',
    '--mode=root',
    '--variant=minbase',
    '--format=directory',
    `--include=${BOX_PACKAGES.join(',')}`,
    '--aptopt=Apt::Install-Recommends "false"',
    // A throw-away image: no fsync per file (dpkg's safety is for live systems).
    '--dpkgopt=force-unsafe-io',
    ...DPKG_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`),
    ...DPKG_INCLUDES.map((p) => `--dpkgopt=path-include=${p}`),
    `--customize-hook=${o.customizeHook}`,
    SUITE,
    o.target,
    ...sourcesList(o.mirrors),
  ];
}

/**
 * The kernel command line every boot of the box starts from. The root file system is the whole
 * virtio disk; kernel interface names (eth0 = management, eth1 = lab underlay, in the order
 * vagrant-libvirt attaches them); mitigations off and CPU randomness trusted because both cost
 * seconds under TCG and the box is a throw-away lab machine; systemd's status lines go to the
 * serial console, whose log is what a failed boot is diagnosed from.
 */
export const BASE_CMDLINE = 'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet mitigations=off random.trust_cpu=on systemd.show_status=true';

/** One static interface of a box: `ip=` arguments for systemd-network-generator. */
export interface StaticNic {
  ifname: string;
  ipv4?: string; // address/prefix
  ipv6?: string; // address/prefix
}

function prefixToNetmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/**
 * The per-box part of the command line: hostname and static addresses, in dracut's `ip=` syntax
 * that systemd-network-generator turns into networkd files (`ip=ADDR:::MASK::IF:off`, IPv6 as
 * `ip=[ADDR]:::PREFIX::IF:off`). Mirrored in Ruby by the Vagrantfile (a pure test keeps them equal).
 */
export function boxCmdline(hostname: string, nics: readonly StaticNic[], extra = ''): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(hostname)) throw new Error(`box hostname ${JSON.stringify(hostname)}: lower-case letters, digits and "-" only`);
  const parts = [BASE_CMDLINE, `systemd.hostname=${hostname}`];
  for (const n of nics) {
    if (!/^[a-z0-9]+$/.test(n.ifname)) throw new Error(`interface ${JSON.stringify(n.ifname)}: letters and digits only`);
    if (n.ipv4) {
      const [a, p] = n.ipv4.split('/');
      parts.push(`ip=${a}:::${prefixToNetmask(Number(p ?? 24))}::${n.ifname}:off`);
    }
    if (n.ipv6) {
      const [a, p] = n.ipv6.split('/');
      parts.push(`ip=[${a}]:::${p ?? 64}::${n.ifname}:off`);
    }
  }
  if (extra.trim()) parts.push(extra.trim());
  return parts.join(' ');
}
