/** Finding the host tools the VM needs, with the Debian package that provides each. */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const QEMU_BINARY = 'qemu-system-x86_64';

/** Tool → Debian package. cpio is not needed: the initramfs archive is written by lib/vm/cpio.ts. */
export const VM_TOOLS: Record<string, string> = {
  [QEMU_BINARY]: 'qemu-system-x86',
  depmod: 'kmod',
  modprobe: 'kmod',
  'apt-get': 'apt',
  dpkg: 'dpkg',
};

export const VM_PACKAGES = ['qemu-system-x86', 'busybox-static', 'kmod'];

export async function findInPath(bin: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  // root's PATH may lack /usr/sbin for non-login shells; depmod lives there.
  const dirs = [...path.split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
