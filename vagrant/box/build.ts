#!/usr/bin/env -S node --import tsx
/**
 * Builds the offline geneve-lab Vagrant box (libvirt provider) from Debian's package mirror
 * only, or finds it in the cache. Run as root:
 *
 *   node --import tsx vagrant/box/build.ts [--cache-dir DIR] [--force] [--json]
 *
 * Steps: resolve the exact package versions with apt (a simulated install into a private apt
 * state) → cache key (package versions + the build's own files) → if the cache has that key,
 * done; otherwise mmdebstrap (minbase + vagrant/box/spec.ts's packages, customize.sh), an
 * uncompressed kernel and a ~2 MB initramfs for direct kernel boot, `mkfs.ext4 -d` of the tree
 * into a qcow2 disk, and a .box tar with the box's own Vagrantfile. The last line on stdout is
 * the .box path (with --print-dir the unpacked box next to it; with --json a JSON description).
 *
 * Without a reachable mirror the newest cached box built from the same files is used (said
 * loudly). Environment: GL_BOX_CACHE (cache dir, default /var/cache/geneve-lab/vagrant-box),
 * GL_DEBIAN_MIRROR, GL_DEBIAN_SECURITY_MIRROR.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { $ } from 'zx';
import { writeCpio, type CpioEntry } from '../../lib/vm/cpio.js';
import { parseShowDepends, showDependsArgv } from '../../lib/vm/modules.js';
import { bootableKernel } from '../../lib/vm/vmlinux.js';
import {
  BASE_CMDLINE,
  BOX_FILE,
  BOX_NAME,
  BOX_PACKAGES,
  DEFAULT_MIRRORS,
  FORMAT,
  boxKey,
  mmdebstrapArgv,
  parseSimulatedInstall,
  resolvePatterns,
  sourcesList,
  type Mirrors,
} from './spec.js';

$.verbose = false;

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CACHE = '/var/cache/geneve-lab/vagrant-box';
/** The files whose content goes into the box (hashed into the key). */
const BUILD_FILES = [
  'spec.ts',
  'build.ts',
  'customize.sh',
  'init',
  'Vagrantfile.box',
  'geneve-lab-identity',
  'geneve-lab-identity.service',
  'sshd-geneve-lab.conf',
  '90-geneve-lab-fallback.network',
];
/** The initramfs loads these (and their dependencies, in order) to mount /dev/vda. */
const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', 'ext4', 'crc32c_generic'];
/** The files of a libvirt box, as `vagrant box add` unpacks them. */
export const BOX_MEMBERS = ['metadata.json', 'Vagrantfile', 'box.img', 'vmlinux', 'initrd.img'];
/** The unpacked box next to the .box file in a cache entry. */
export const BOX_DIR = 'box';
/** Virtual size of the box disk in GiB (sparse: only what is written takes space). */
const DISK_GIB = 4;

export interface BoxInfo {
  key: string;
  box: string;
  /** The unpacked box (BOX_MEMBERS), for linking into a lab instead of `vagrant box add`. */
  boxDir: string;
  dir: string;
  name: string;
  built: boolean;
  /** Build seconds (this run, or when the cached box was built). */
  buildSeconds: number;
  packages: number;
  boxBytes: number;
  /** Why a cached box with another key was used (mirror unreachable), if so. */
  fallback?: string;
}

const log = (msg: string) => process.stderr.write(`== box: ${msg}\n`);

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Vagrant's insecure public key, from the installed vagrant package (never downloaded). */
export async function vagrantInsecureKey(): Promise<string> {
  const r = await $({ nothrow: true })`dpkg -L vagrant`;
  const path = r.stdout.split('\n').find((l) => /\/keys\/vagrant\.pub$/.test(l));
  if (!path || !existsSync(path))
    throw new Error('Vagrant\'s insecure public key was not found: install Debian\'s vagrant package (it ships keys/vagrant.pub)');
  return path;
}

/** apt with a private state under `dir`, reading the box's sources (never the host's). */
function aptArgs(dir: string): string[] {
  return [
    '-o', `Dir=${dir}`,
    '-o', `Dir::State::status=${join(dir, 'status')}`,
    '-o', 'Dir::Etc::Trusted=/etc/apt/trusted.gpg',
    '-o', 'Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d',
    '-o', 'APT::Architecture=amd64',
    '-o', 'APT::Install-Recommends=false',
    '-o', 'Debug::NoLocking=1',
  ];
}

/** The package versions a build would install now (a simulated install against the mirror). */
export async function resolveVersions(cacheDir: string, mirrors: Mirrors): Promise<Map<string, string>> {
  const dir = join(cacheDir, 'apt');
  for (const d of ['etc/apt/sources.list.d', 'etc/apt/preferences.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'etc/apt/sources.list'), sourcesList(mirrors).join('\n') + '\n');
  await writeFile(join(dir, 'status'), '');
  const args = aptArgs(dir);
  const up = await $({ nothrow: true })`apt-get ${args} -q update`;
  if (up.exitCode !== 0 || /^(W|E): .*(Failed to fetch|Could not|Unable)/m.test(up.stdout + up.stderr))
    throw new Error(`apt-get update against ${mirrors.debian} failed: ${(up.stderr || up.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  const sim = await $({ nothrow: true })`apt-get ${args} -s install ${resolvePatterns()}`;
  if (sim.exitCode !== 0) throw new Error(`apt-get could not resolve the box's packages: ${sim.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const versions = parseSimulatedInstall(sim.stdout);
  for (const p of BOX_PACKAGES) if (!versions.has(p)) throw new Error(`apt-get's simulated install has no ${p}`);
  return versions;
}

async function fileHashes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of BUILD_FILES) out[`vagrant/box/${f}`] = sha256(await readFile(join(HERE, f)));
  return out;
}

interface Manifest {
  format: number;
  key: string;
  name: string;
  files: Record<string, string>;
  packages: Record<string, string>;
  kernelRelease: string;
  builtAt: string;
  buildSeconds: number;
  boxBytes: number;
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    return existsSync(join(dir, BOX_FILE)) && BOX_MEMBERS.every((f) => existsSync(join(dir, BOX_DIR, f))) ? m : undefined;
  } catch {
    return undefined;
  }
}

function infoOf(dir: string, m: Manifest, built: boolean, fallback?: string): BoxInfo {
  return {
    key: m.key,
    box: join(dir, BOX_FILE),
    boxDir: join(dir, BOX_DIR),
    dir,
    name: BOX_NAME,
    built,
    buildSeconds: m.buildSeconds,
    packages: Object.keys(m.packages).length,
    boxBytes: m.boxBytes,
    ...(fallback ? { fallback } : {}),
  };
}

/** Newest cached box made from the same build files (any package versions). */
async function newestCompatible(cacheDir: string, files: Record<string, string>): Promise<{ dir: string; m: Manifest } | undefined> {
  const found: { dir: string; m: Manifest }[] = [];
  for (const e of await readdir(cacheDir).catch(() => [] as string[])) {
    const dir = join(cacheDir, e);
    const m = await readManifest(dir);
    if (m && m.format === FORMAT && JSON.stringify(m.files) === JSON.stringify(files)) found.push({ dir, m });
  }
  return found.sort((a, b) => (a.m.builtAt < b.m.builtAt ? 1 : -1))[0];
}

/** The box's initramfs: busybox from the tree, the modules for /dev/vda in load order, /init. */
async function makeInitramfs(tree: string, release: string): Promise<Buffer> {
  const deps = await $({ nothrow: true })`${showDependsArgv(tree, release, INITRAMFS_MODULES)}`;
  if (deps.exitCode !== 0) throw new Error(`modprobe --show-depends in the box tree failed: ${deps.stderr.trim()}`);
  const modules = parseShowDepends(deps.stdout.replaceAll(`insmod ${tree}`, 'insmod '));
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/gl-modules', 'newroot'].map((path): CpioEntry => ({ kind: 'dir', path })),
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: await readFile(join(tree, 'bin/busybox')), mode: 0o755 },
    ...['sh', 'mount', 'umount', 'insmod', 'mkdir', 'cat', 'sleep', 'switch_root'].map((a): CpioEntry => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    ...(await Promise.all(
      modules.map(async (m, i): Promise<CpioEntry> => ({
        kind: 'file',
        path: `lib/gl-modules/${String(i).padStart(2, '0')}-${m.name}.ko`,
        data: await readFile(join(tree, m.path)),
      })),
    )),
    { kind: 'file', path: 'init', data: await readFile(join(HERE, 'init')), mode: 0o755 },
  ];
  return gzipSync(writeCpio(entries), { level: 9 });
}

async function build(cacheDir: string, key: string, versions: Map<string, string>, files: Record<string, string>): Promise<BoxInfo> {
  const t0 = Date.now();
  const work = join(cacheDir, `.build-${key}-${randomBytes(3).toString('hex')}`);
  const tree = join(work, 'tree');
  const out = join(work, BOX_DIR);
  await mkdir(out, { recursive: true });
  try {
    const pubkey = await vagrantInsecureKey();
    log(`mmdebstrap ${BOX_PACKAGES.length} packages (+ minbase: ${versions.size} in all) into ${tree}`);
    const argv = mmdebstrapArgv({ target: tree, customizeHook: join(HERE, 'customize.sh'), mirrors: mirrorsFromEnv() });
    const mm = await $({
      nothrow: true,
      env: { ...process.env, GL_VAGRANT_PUBKEY: pubkey, GL_BOX_FILES: HERE, GL_BOX_STAMP: `${BOX_NAME} ${key}`, LC_ALL: 'C.UTF-8' },
    })`${argv}`;
    if (mm.exitCode !== 0) throw new Error(`mmdebstrap failed (exit ${mm.exitCode}):\n${(mm.stderr || mm.stdout).trim().split('\n').slice(-15).join('\n')}`);
    log(`mmdebstrap done in ${Math.round((Date.now() - t0) / 1000)} s`);

    const releases = (await readdir(join(tree, 'lib/modules'))).filter((r) => existsSync(join(tree, 'boot', `vmlinuz-${r}`)));
    if (releases.length !== 1) throw new Error(`expected one kernel in the box, found: ${releases.join(', ') || 'none'}`);
    const release = releases[0]!;
    const elf = await bootableKernel(join(tree, 'boot', `vmlinuz-${release}`), release, join(work, 'kernel'));
    await copyFile(elf, join(out, 'vmlinux'));
    await writeFile(join(out, 'initrd.img'), await makeInitramfs(tree, release));

    log('root file system image (mkfs.ext4 -d, qcow2)');
    const raw = join(work, 'root.raw');
    await writeFile(raw, '');
    await $`truncate -s ${DISK_GIB}G ${raw}`;
    await $`mkfs.ext4 -q -F -L gl-root -m 0 -E root_owner=0:0 -d ${tree} ${raw}`;
    await $`qemu-img convert -O qcow2 ${raw} ${join(out, 'box.img')}`;
    for (const d of [raw, tree, join(work, 'kernel')]) await rm(d, { recursive: true, force: true });

    await writeFile(join(out, 'metadata.json'), JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: DISK_GIB }) + '\n');
    const vf = (await readFile(join(HERE, 'Vagrantfile.box'), 'utf8')).replace('@BASE_CMDLINE@', BASE_CMDLINE);
    await writeFile(join(out, 'Vagrantfile'), vf);
    // The .box (for `vagrant box add`) is uncompressed: gzip would cost more time (packing and
    // adding) than it saves here. The unpacked copy next to it (box/) is what the lab driver
    // links into a lab's private VAGRANT_HOME and libvirt pool, so no run copies 500 MB.
    await $({ cwd: out })`tar -cf ${join(work, BOX_FILE)} ${BOX_MEMBERS}`;
    // Labs hard-link these files; read-only so nothing can change the cached box through a link.
    for (const f of BOX_MEMBERS) await chmod(join(out, f), 0o444);

    const boxBytes = (await stat(join(work, BOX_FILE))).size;
    const manifest: Manifest = {
      format: FORMAT,
      key,
      name: BOX_NAME,
      files,
      packages: Object.fromEntries([...versions].sort()),
      kernelRelease: release,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - t0) / 1000),
      boxBytes,
    };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const dir = join(cacheDir, key);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    log(`built ${join(dir, BOX_FILE)} (${Math.round(boxBytes / 2 ** 20)} MiB) in ${manifest.buildSeconds} s`);
    return infoOf(dir, manifest, true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function mirrorsFromEnv(): Mirrors {
  return { debian: process.env.GL_DEBIAN_MIRROR || DEFAULT_MIRRORS.debian, security: process.env.GL_DEBIAN_SECURITY_MIRROR || DEFAULT_MIRRORS.security };
}

/** Keep the newest `keep` boxes; older ones only take disk space. */
async function prune(cacheDir: string, keepKey: string, keep = 2): Promise<void> {
  const all: { dir: string; at: string }[] = [];
  for (const e of await readdir(cacheDir).catch(() => [] as string[])) {
    const dir = join(cacheDir, e);
    const m = await readManifest(dir);
    if (m && m.key !== keepKey) all.push({ dir, at: m.builtAt });
  }
  for (const old of all.sort((a, b) => (a.at < b.at ? 1 : -1)).slice(keep - 1)) {
    log(`removing old box ${old.dir}`);
    await rm(old.dir, { recursive: true, force: true });
  }
}

export async function ensureBox(o: { cacheDir?: string; force?: boolean } = {}): Promise<BoxInfo> {
  const cacheDir = o.cacheDir ?? process.env.GL_BOX_CACHE ?? DEFAULT_CACHE;
  await mkdir(cacheDir, { recursive: true });
  const files = await fileHashes();
  let versions: Map<string, string>;
  try {
    log('resolving package versions against the Debian mirror');
    versions = await resolveVersions(cacheDir, mirrorsFromEnv());
  } catch (e) {
    const have = await newestCompatible(cacheDir, files);
    if (!have) throw new Error(`${(e as Error).message}\nand no cached box was built from these files: the box cannot be built offline`);
    const why = `${(e as Error).message}; using the newest cached box built from the same files (${have.m.builtAt})`;
    process.stderr.write(`\n!!! box: ${why}\n`);
    return infoOf(have.dir, have.m, false, why);
  }
  const key = boxKey({ packages: versions, files });
  const dir = join(cacheDir, key);
  const cached = await readManifest(dir);
  if (cached && !o.force) {
    log(`up to date: ${join(dir, BOX_FILE)} (key ${key}, ${versions.size} packages)`);
    return infoOf(dir, cached, false);
  }
  const info = await build(cacheDir, key, versions, files);
  await prune(cacheDir, key);
  return info;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args.includes('--help')) {
    process.stdout.write('usage: node --import tsx vagrant/box/build.ts [--cache-dir DIR] [--force] [--json | --print-dir]\n');
    process.exit(0);
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('box: run as root (mmdebstrap --mode=root, mkfs of the image)\n');
    process.exit(3);
  }
  try {
    const cacheDir = opt('--cache-dir');
    const info = await ensureBox({ ...(cacheDir ? { cacheDir } : {}), force: args.includes('--force') });
    process.stdout.write((args.includes('--json') ? JSON.stringify(info) : args.includes('--print-dir') ? info.boxDir : info.box) + '\n');
  } catch (e) {
    process.stderr.write(`box: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
