/**
 * The initramfs: Debian's static busybox, the modules needed to reach the 9p shares (in
 * dependency order), and the two stage scripts. Cached under a key made from everything that
 * goes into it, so a new kernel, a new busybox or a changed script rebuilds it and nothing else does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PrerequisiteError } from '../errors.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { isStaticElf } from './elf.js';
import { initramfsModulePath, stage1Script, stage2Script } from './init-script.js';
import type { Kernel } from './kernel.js';
import { INITRAMFS_MODULES, parseShowDepends, showDependsArgv, type ModuleLoad } from './modules.js';
import { runProcess, tailOf, type Run } from './process.js';

/** Bump when the archive layout changes in a way the inputs below do not capture. */
const FORMAT = 1;

export const BUSYBOX_PATH = '/bin/busybox';

export interface InitramfsInputs {
  kernelRelease: string;
  busybox: Buffer;
  modules: { name: string; data: Buffer }[];
}

export function initramfsEntries(inp: InitramfsInputs): CpioEntry[] {
  const names = inp.modules.map((m) => m.name);
  return [
    { kind: 'dir', path: 'bin' },
    { kind: 'dir', path: 'dev' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'dir', path: 'proc' },
    { kind: 'dir', path: 'sys' },
    { kind: 'dir', path: 'lib' },
    { kind: 'dir', path: 'lib/gl-modules' },
    { kind: 'file', path: 'bin/busybox', data: inp.busybox, mode: 0o755 },
    // Only the applets the stage-1 script calls; the rest stay reachable as `busybox X`.
    ...['sh', 'mount', 'insmod', 'mkdir', 'cp', 'switch_root', 'poweroff', 'reboot'].map(
      (a): CpioEntry => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' }),
    ),
    ...inp.modules.map((m, i): CpioEntry => ({ kind: 'file', path: initramfsModulePath(i, m.name), data: m.data })),
    { kind: 'file', path: 'init', data: Buffer.from(stage1Script(inp.kernelRelease, names)), mode: 0o755 },
    { kind: 'file', path: 'stage2', data: Buffer.from(stage2Script()), mode: 0o644 },
  ];
}

/** Content key: any change to an input changes the key. */
export function initramfsKey(inp: InitramfsInputs): string {
  const h = createHash('sha256');
  const add = (label: string, data: string | Buffer) => {
    h.update(`${label}:${data.length}:`);
    h.update(data);
  };
  add('format', String(FORMAT));
  add('release', inp.kernelRelease);
  add('busybox', inp.busybox);
  for (const m of inp.modules) {
    add('module-name', m.name);
    add('module', m.data);
  }
  add('stage1', stage1Script(inp.kernelRelease, inp.modules.map((m) => m.name)));
  add('stage2', stage2Script());
  return h.digest('hex').slice(0, 20);
}

/** Busybox in the initramfs has no libc to load: it must be the static build. */
export async function readStaticBusybox(path = BUSYBOX_PATH): Promise<Buffer> {
  const fix = { feature: 'static busybox for the VM initramfs', fix: 'apt-get install busybox-static' };
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    throw new PrerequisiteError([{ ...fix, fix: `${path} is missing: apt-get install busybox-static` }]);
  }
  let isStatic: boolean;
  try {
    isStatic = isStaticElf(data);
  } catch (e) {
    throw new PrerequisiteError([{ ...fix, fix: `${path} is not a usable binary (${(e as Error).message}): apt-get install busybox-static` }]);
  }
  if (!isStatic) throw new PrerequisiteError([{ ...fix, fix: `${path} is dynamically linked (package busybox): apt-get install busybox-static` }]);
  return data;
}

/** The modules' files, uncompressed (busybox insmod does not read every compression format). */
async function readModule(run: Run, m: ModuleLoad): Promise<Buffer> {
  if (m.path.endsWith('.ko')) return readFile(m.path);
  if (m.path.endsWith('.ko.gz')) return gunzipSync(await readFile(m.path));
  const tool = m.path.endsWith('.ko.xz') ? 'xz' : m.path.endsWith('.ko.zst') ? 'zstd' : undefined;
  if (!tool) throw new Error(`unknown module file type: ${m.path}`);
  // Binary output goes through a temporary file: our process runner reads stdout as text.
  const tmp = join(tmpdir(), `gl-${m.name}-${randomBytes(4).toString('hex')}.ko`);
  const r = await run(['sh', '-c', '"$1" -dc -- "$2" > "$3"', 'sh', tool, m.path, tmp]);
  if (r.exitCode !== 0) {
    await rm(tmp, { force: true });
    const pkg = tool === 'xz' ? 'xz-utils' : 'zstd';
    throw new PrerequisiteError([{ feature: `kernel module ${m.name}`, fix: `cannot decompress ${m.path}: ${tailOf(r)} (apt-get install ${pkg})` }]);
  }
  try {
    return await readFile(tmp);
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function moduleLoadOrder(kernel: Kernel, run: Run = runProcess): Promise<ModuleLoad[]> {
  const r = await run(showDependsArgv(kernel.moduleBase, kernel.version, INITRAMFS_MODULES));
  if (r.exitCode !== 0) {
    const fix = r.spawnError === 'ENOENT' ? 'modprobe is missing: apt-get install kmod' : `modprobe --show-depends failed: ${tailOf(r)}`;
    throw new PrerequisiteError([{ feature: `kernel modules ${INITRAMFS_MODULES.join(', ')} for ${kernel.version}`, fix }]);
  }
  return parseShowDepends(r.stdout);
}

/** Path of a ready initramfs for this kernel, built now if the cache has none for these inputs. */
export async function ensureInitramfs(
  kernel: Kernel,
  cacheDir: string,
  opts: { run?: Run; busyboxPath?: string } = {},
): Promise<string> {
  const run = opts.run ?? runProcess;
  const busybox = await readStaticBusybox(opts.busyboxPath);
  const order = await moduleLoadOrder(kernel, run);
  const modules = [];
  for (const m of order) modules.push({ name: m.name, data: await readModule(run, m) });
  const inputs: InitramfsInputs = { kernelRelease: kernel.version, busybox, modules };
  const dir = join(cacheDir, 'initramfs');
  const file = join(dir, `${kernel.version}-${initramfsKey(inputs)}.cpio.gz`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, gzipSync(writeCpio(initramfsEntries(inputs)), { level: 6 }));
    await rename(tmp, file); // atomic: a concurrent run sees the old state or the whole file
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}
