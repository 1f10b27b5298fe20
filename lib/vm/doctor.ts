/** `doctor` lines for the VM: can `geneve-lab vm` run here, and what to install if not. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoctorItem } from '../doctor/types.js';
import { kvmState } from './accel.js';
import { isStaticElf } from './elf.js';
import { BUSYBOX_PATH } from './initramfs.js';
import { defaultCacheDir, kvmStateFile } from './paths.js';
import { findInPath, QEMU_BINARY, VM_PACKAGES } from './prerequisites.js';
import { runProcess } from './process.js';
import { KERNEL_METAPACKAGE, parseKernelDepends } from './kernel.js';

const INSTALL = `apt-get install ${VM_PACKAGES.join(' ')}`;

export async function vmDoctor(cacheDir = defaultCacheDir()): Promise<DoctorItem[]> {
  const items: DoctorItem[] = [];
  const qemu = await findInPath(QEMU_BINARY);
  items.push({ area: 'vm', feature: QEMU_BINARY, ok: Boolean(qemu), detail: qemu ?? 'not installed', ...(qemu ? {} : { fix: INSTALL }) });

  let bb: DoctorItem;
  try {
    const data = await readFile(BUSYBOX_PATH);
    const ok = isStaticElf(data);
    bb = { area: 'vm', feature: 'static busybox', ok, detail: ok ? BUSYBOX_PATH : `${BUSYBOX_PATH} is dynamically linked`, ...(ok ? {} : { fix: 'apt-get install busybox-static' }) };
  } catch {
    bb = { area: 'vm', feature: 'static busybox', ok: false, detail: `${BUSYBOX_PATH} missing`, fix: 'apt-get install busybox-static' };
  }
  items.push(bb);

  const depmod = await findInPath('depmod');
  const modprobe = await findInPath('modprobe');
  items.push({
    area: 'vm',
    feature: 'depmod/modprobe (module order for the initramfs)',
    ok: Boolean(depmod && modprobe),
    detail: depmod && modprobe ? `${depmod}, ${modprobe}` : 'missing',
    ...(depmod && modprobe ? {} : { fix: 'apt-get install kmod' }),
  });

  const dep = await runProcess(['apt-cache', 'depends', KERNEL_METAPACKAGE]);
  const pkg = dep.exitCode === 0 ? parseKernelDepends(dep.stdout) : undefined;
  const version = pkg?.replace(/^linux-image-/, '');
  const cached = version !== undefined && existsSync(join(cacheDir, 'kernels', version, 'boot', `vmlinuz-${version}`));
  items.push({
    area: 'vm',
    feature: 'VM kernel (Debian stock kernel)',
    ok: Boolean(pkg),
    detail: pkg ? `${pkg}${cached ? ` (cached in ${cacheDir})` : ' (downloaded on first use, ~70 MB)'}` : `cannot resolve ${KERNEL_METAPACKAGE} from apt`,
    ...(pkg ? {} : { fix: 'apt-get update, or pass --kernel FILE --modules DIR to geneve-lab vm' }),
  });

  const kvm = await kvmState(kvmStateFile(cacheDir));
  items.push({
    area: 'vm',
    feature: 'KVM acceleration',
    // TCG always works, so a missing/broken KVM does not stop `vm`: informational only.
    ok: true,
    detail: !kvm.usable
      ? `${kvm.reason}; VMs use TCG (slower, works)`
      : kvm.knownBroken
        ? 'KVM did not boot a guest on this host since its last reboot; VMs use TCG'
        : '/dev/kvm usable (falls back to TCG if a guest does not boot)',
  });
  return items;
}
