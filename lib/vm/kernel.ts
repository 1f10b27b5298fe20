/**
 * The guest kernel: Debian's stock kernel package (downloaded with apt, unpacked into the cache,
 * never installed), or a kernel image and module tree the user names.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PrerequisiteError, UsageError } from '../errors.js';
import { shellQuote } from '../exec/executor.js';
import { bzImageRelease } from './elf.js';
import { runProcess, tailOf, type Run } from './process.js';

const defaultRun = runProcess;

export interface Kernel {
  /** Kernel release, e.g. 6.1.0-56-amd64. */
  version: string;
  vmlinuz: string;
  /** The module tree of this release (holds modules.dep); shared with the guest as /lib/modules/<version>. */
  modulesDir: string;
  /** A directory holding lib/modules/<version>, for `modprobe -d` / `depmod -b` on the host. */
  moduleBase: string;
  source: 'debian' | 'user';
}

/** The metapackage whose dependency names the current stock kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-amd64';

/** Parse `apt-cache depends linux-image-amd64` into the versioned package it depends on. */
export function parseKernelDepends(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*\|?Depends:\s*(linux-image-\d\S*)\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function releaseOfPackage(pkg: string): string {
  return pkg.replace(/^linux-image-/, '');
}

const failure = tailOf;

async function newestCached(kernelsDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(kernelsDir);
  } catch {
    return undefined;
  }
  const complete = [];
  for (const n of names.filter((n) => !n.startsWith('.'))) {
    if (existsSync(join(kernelsDir, n, 'boot', `vmlinuz-${n}`))) complete.push(n);
  }
  return complete.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
}

function debianKernelAt(kernelsDir: string, version: string): Kernel {
  const root = join(kernelsDir, version);
  return {
    version,
    vmlinuz: join(root, 'boot', `vmlinuz-${version}`),
    modulesDir: join(root, 'lib', 'modules', version),
    moduleBase: root,
    source: 'debian',
  };
}

/**
 * What `apt-cache depends` answers from: the package lists, apt's binary cache and dpkg's status.
 * While none of them changed, the answer cannot have changed either.
 */
export const APT_STATE_FILES = ['/var/lib/apt/lists', '/var/cache/apt/pkgcache.bin', '/var/lib/dpkg/status'];

async function aptStateKey(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(files.map(async (f) => stat(f).then((s) => `${f}:${s.mtimeMs}:${s.size}`, () => `${f}:-`)));
  return parts.join('|');
}

/**
 * Which kernel package linux-image-amd64 depends on, remembered in the cache next to the kernels
 * with the state of apt it was read from: `apt-cache depends` costs ~0.9 s of CPU on every
 * `geneve-lab vm` otherwise (measured: a tenth of a whole `vm -- run`). An `apt-get update`, a new
 * apt cache or a dpkg change makes it ask again.
 */
async function kernelPackage(run: Run, kernelsDir: string, stateFiles: readonly string[]): Promise<{ pkg: string } | { depends: Awaited<ReturnType<Run>> }> {
  const memo = join(kernelsDir, '.resolved.json');
  const key = await aptStateKey(stateFiles);
  const known = await readFile(memo, 'utf8').then((t) => JSON.parse(t) as { key?: string; pkg?: string }, () => undefined);
  if (known?.key === key && typeof known.pkg === 'string' && /^linux-image-\d\S*$/.test(known.pkg)) return { pkg: known.pkg };
  const depends = await run(['apt-cache', 'depends', KERNEL_METAPACKAGE]);
  const pkg = depends.exitCode === 0 ? parseKernelDepends(depends.stdout) : undefined;
  if (!pkg) return { depends };
  // Best effort: a cache directory we cannot write to only costs the next run the lookup.
  const tmp = `${memo}.${randomBytes(4).toString('hex')}`;
  await mkdir(kernelsDir, { recursive: true })
    .then(() => writeFile(tmp, JSON.stringify({ key, pkg }) + '\n'))
    .then(() => rename(tmp, memo))
    .catch(() => rm(tmp, { force: true }));
  return { pkg };
}

/**
 * The stock Debian kernel, downloaded once. Only the one versioned package that
 * linux-image-amd64 depends on is fetched (~70 MB); a wildcard would pull every kernel.
 */
export async function ensureDebianKernel(
  cacheDir: string,
  opts: { run?: Run; onProgress?: (message: string) => void; aptStateFiles?: readonly string[] } = {},
): Promise<Kernel> {
  const run = opts.run ?? defaultRun;
  const kernelsDir = join(cacheDir, 'kernels');
  const found = await kernelPackage(run, kernelsDir, opts.aptStateFiles ?? APT_STATE_FILES);
  if ('pkg' in found) return ensureDebianKernelOf(found.pkg, kernelsDir, run, opts.onProgress);
  // Offline or no package lists: a kernel downloaded earlier is still good.
  const cached = await newestCached(kernelsDir);
  if (cached) return debianKernelAt(kernelsDir, cached);
  const why = found.depends.spawnError === 'ENOENT' ? 'apt-cache is not installed (not a Debian system?)' : failure(found.depends);
  throw new PrerequisiteError([
    {
      feature: `VM kernel (Debian package ${KERNEL_METAPACKAGE})`,
      fix: `cannot find which kernel ${KERNEL_METAPACKAGE} depends on: ${why}. Run \`apt-get update\`, or pass your own kernel with --kernel FILE --modules DIR`,
    },
  ]);
}

/** The kernel of package `pkg` from the cache, downloaded and unpacked into it the first time. */
async function ensureDebianKernelOf(pkg: string, kernelsDir: string, run: Run, onProgress?: (message: string) => void): Promise<Kernel> {
  const version = releaseOfPackage(pkg);
  const kernel = debianKernelAt(kernelsDir, version);
  if (existsSync(kernel.vmlinuz) && existsSync(join(kernel.modulesDir, 'modules.dep'))) return kernel;

  await mkdir(kernelsDir, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const dl = join(kernelsDir, `.download-${tag}`);
  const unpack = join(kernelsDir, `.unpack-${tag}`);
  try {
    await mkdir(dl, { recursive: true });
    onProgress?.(`downloading ${pkg} (once, about 70 MB) into ${kernelsDir}`);
    const aptArgs = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    const download = await run(['apt-get', ...aptArgs, 'download', pkg], { cwd: dl });
    if (download.exitCode !== 0) {
      throw new PrerequisiteError([
        { feature: `VM kernel ${pkg}`, fix: `\`apt-get download ${pkg}\` failed: ${failure(download)}. Check network access to the Debian archive, or pass --kernel FILE --modules DIR` },
      ]);
    }
    const deb = (await readdir(dl)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new PrerequisiteError([{ feature: `VM kernel ${pkg}`, fix: `apt-get download ${pkg} produced no .deb file` }]);
    onProgress?.(`unpacking ${deb}`);
    const x = await run(['dpkg', '-x', join(dl, deb), unpack]);
    if (x.exitCode !== 0) throw new PrerequisiteError([{ feature: `VM kernel ${pkg}`, fix: `dpkg -x failed: ${failure(x)}` }]);
    await depmod(run, unpack, version);
    try {
      await rename(unpack, join(kernelsDir, version));
    } catch (e) {
      // Another run unpacked the same kernel at the same time; theirs is as good as ours.
      if (!existsSync(kernel.vmlinuz)) throw e;
    }
    return kernel;
  } finally {
    await rm(dl, { recursive: true, force: true });
    await rm(unpack, { recursive: true, force: true });
  }
}

async function depmod(run: Run, base: string, version: string): Promise<void> {
  const r = await run(['depmod', '-b', base, version]);
  if (r.exitCode !== 0) {
    const fix = r.spawnError === 'ENOENT' ? 'depmod is missing: apt-get install kmod' : `${shellQuote(r.argv)} failed: ${failure(r)}`;
    throw new PrerequisiteError([{ feature: `kernel module index for ${version}`, fix }]);
  }
}

/**
 * A user-supplied kernel. `modules` is the module tree of that kernel release, i.e. a directory
 * named after the release (like /lib/modules/6.1.0-56-amd64). `scratchDir` receives a symlink
 * layout for modprobe when the tree does not sit under a lib/modules/ directory.
 */
export async function userKernel(kernelPath: string, modulesPath: string, scratchDir: string, run: Run = defaultRun): Promise<Kernel> {
  const vmlinuz = resolve(kernelPath);
  const modulesDir = resolve(modulesPath);
  let image: Buffer;
  try {
    image = await readFile(vmlinuz);
  } catch (e) {
    throw new UsageError(`--kernel ${kernelPath}: cannot read the kernel image (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!(await stat(modulesDir).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`--modules ${modulesPath}: not a directory; give the module tree of the kernel, e.g. /lib/modules/<release>`);
  }
  const version = basename(modulesDir);
  const release = bzImageRelease(image);
  if (!release) throw new UsageError(`--kernel ${kernelPath}: not an x86 bzImage (no "HdrS" boot header)`);
  if (release !== version) {
    throw new UsageError(
      `--kernel ${kernelPath} is kernel release ${release}, but --modules ${modulesPath} is named ${version}; give the module tree of the same release (…/lib/modules/${release})`,
    );
  }
  let moduleBase: string;
  if (basename(dirname(modulesDir)) === 'modules' && basename(dirname(dirname(modulesDir))) === 'lib') {
    moduleBase = dirname(dirname(dirname(modulesDir)));
  } else {
    moduleBase = join(scratchDir, 'modbase');
    await mkdir(join(moduleBase, 'lib', 'modules'), { recursive: true });
    await symlink(modulesDir, join(moduleBase, 'lib', 'modules', version));
  }
  if (!existsSync(join(modulesDir, 'modules.dep'))) await depmod(run, moduleBase, version);
  return { version, vmlinuz, modulesDir, moduleBase, source: 'user' };
}
