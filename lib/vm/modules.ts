/**
 * Which kernel modules the initramfs must load, and in which order. The order comes from the
 * kernel's own dependency data (`modprobe --show-depends`), never from a hard-coded list, so
 * another kernel (`--kernel/--modules`) with other dependencies works as well.
 */

/**
 * What the initramfs needs before it can switch to the host's filesystem: virtio over PCI (the PC
 * machine) and over MMIO (microvm, lib/vm/qemu.ts; a module with no device of its kind costs a
 * few ms), 9p over virtio for the shares, overlayfs for the
 * writable tmpfs layer, virtio_console for the command's stdout/stderr ports, and tun for the
 * OVS userspace datapath's tap ports (loaded here by insmod: a `modprobe` from stage 2 reads
 * kmod's indexes over 9p, 0.2–0.4 s under TCG).
 */
export const INITRAMFS_MODULES = ['virtio_pci', 'virtio_mmio', '9pnet_virtio', '9p', 'overlay', 'virtio_console', 'tun'] as const;

export interface ModuleLoad {
  /** Module name as the kernel knows it (file name without .ko[.xz|.gz|.zst]). */
  name: string;
  /** Absolute path of the module file on the host. */
  path: string;
}

export function moduleNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, '');
}

/**
 * Parse `modprobe --show-depends -a …` output into a load order: each module after its
 * dependencies, each once. `builtin X` lines need nothing loaded and are dropped.
 * Lines look like `insmod /path/to/virtio.ko ` (optionally followed by parameters).
 */
export function parseShowDepends(text: string): ModuleLoad[] {
  const seen = new Set<string>();
  const order: ModuleLoad[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('builtin ')) continue;
    const m = /^insmod\s+(\S+)/.exec(line);
    if (!m) throw new Error(`unexpected line from modprobe --show-depends: ${JSON.stringify(line)}`);
    const path = m[1]!;
    if (seen.has(path)) continue;
    seen.add(path);
    order.push({ name: moduleNameOf(path), path });
  }
  return order;
}

/** argv that asks modprobe for the dependency order inside an unpacked module tree. */
export function showDependsArgv(baseDir: string, version: string, names: readonly string[]): string[] {
  return ['modprobe', '--show-depends', '-d', baseDir, '-S', version, '-a', ...names];
}
