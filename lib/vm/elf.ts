/**
 * Just enough ELF reading to tell a static binary from a dynamic one: the initramfs has no
 * libc, so busybox must be Debian's busybox-static, not the dynamically linked busybox.
 */
const PT_INTERP = 3;

/** true: static; false: dynamic (has an interpreter); throws when the bytes are not a 64-bit little-endian ELF. */
export function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) throw new Error('truncated ELF program header table');
    if (buf.readUInt32LE(off) === PT_INTERP) return false;
  }
  return true;
}

/**
 * The kernel release inside a bzImage (x86 boot protocol: the 16-bit pointer at 0x20e, plus
 * 0x200, points at the version string "6.1.0-56-amd64 (debian-kernel@…) #1 SMP …").
 * Returns undefined when the file is not a bzImage.
 */
export function bzImageRelease(buf: Buffer): string | undefined {
  if (buf.length < 0x210 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const ptr = buf.readUInt16LE(0x20e) + 0x200;
  if (ptr >= buf.length) return undefined;
  const end = buf.indexOf(0, ptr);
  const text = buf.toString('latin1', ptr, end < 0 ? Math.min(buf.length, ptr + 256) : end);
  const release = text.split(' ')[0];
  return release || undefined;
}
