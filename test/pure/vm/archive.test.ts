import test from 'ava';
import { writeCpio } from '../../../lib/vm/cpio.js';
import { bzImageRelease, isStaticElf } from '../../../lib/vm/elf.js';
import { initramfsEntries, initramfsKey } from '../../../lib/vm/initramfs.js';
import { bzImagePayload } from '../../../lib/vm/vmlinux.js';

/** Independent newc reader (what the kernel does when it unpacks an initramfs). */
function readNewc(buf: Buffer) {
  const out: { name: string; mode: number; data: Buffer; rdev: [number, number] }[] = [];
  let off = 0;
  for (;;) {
    if (buf.toString('ascii', off, off + 6) !== '070701') throw new Error(`bad magic at ${off}`);
    const f = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = f(1), size = f(6), namesize = f(11);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    let p = off + 110 + namesize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    if (name === 'TRAILER!!!') return { entries: out, end: p };
    out.push({ name, mode, data, rdev: [f(9), f(10)] });
    off = p;
  }
}

test('cpio newc archive: files, dirs, symlinks, device nodes, 4-byte alignment, trailer', (t) => {
  const buf = writeCpio([
    { kind: 'dir', path: '/bin' },
    { kind: 'file', path: 'bin/x', data: Buffer.from('hello'), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'x' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);
  const { entries, end } = readNewc(buf);
  t.is(end, buf.length);
  t.deepEqual(entries.map((e) => [e.name, e.mode.toString(8)]), [
    ['bin', '40755'],
    ['bin/x', '100755'],
    ['bin/sh', '120777'],
    ['dev/console', '20600'],
  ]);
  t.is(entries[1]!.data.toString(), 'hello');
  t.is(entries[2]!.data.toString(), 'x');
  t.deepEqual(entries[3]!.rdev, [5, 1]);
});

test('initramfs: /init, static busybox, /dev/console, modules in order; key follows content', (t) => {
  const inputs = {
    kernelRelease: '6.1.0-56-amd64',
    busybox: Buffer.from('BB'),
    modules: [
      { name: 'virtio', data: Buffer.from('m1') },
      { name: 'virtio_pci', data: Buffer.from('m2') },
    ],
  };
  const names = readNewc(writeCpio(initramfsEntries(inputs))).entries.map((e) => e.name);
  for (const n of ['init', 'stage2', 'bin/busybox', 'bin/sh', 'dev/console', 'lib/gl-modules/00-virtio.ko', 'lib/gl-modules/01-virtio_pci.ko']) {
    t.true(names.includes(n), n);
  }
  const key = initramfsKey(inputs);
  t.is(initramfsKey({ ...inputs }), key, 'same inputs, same key');
  t.not(initramfsKey({ ...inputs, busybox: Buffer.from('BB2') }), key);
  t.not(initramfsKey({ ...inputs, modules: [...inputs.modules].reverse() }), key, 'order is part of the key');
  t.not(initramfsKey({ ...inputs, kernelRelease: '6.1.0-57-amd64' }), key);
});

function fakeElf(withInterp: boolean): Buffer {
  const b = Buffer.alloc(0x40 + 2 * 56);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeBigUInt64LE(0x40n, 0x20);
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(2, 0x38);
  b.writeUInt32LE(1, 0x40); // PT_LOAD
  b.writeUInt32LE(withInterp ? 3 : 1, 0x40 + 56);
  return b;
}

test('static vs dynamic ELF', (t) => {
  t.true(isStaticElf(fakeElf(false)));
  t.false(isStaticElf(fakeElf(true)));
  t.throws(() => isStaticElf(Buffer.from('#!/bin/sh\n'.padEnd(80))), { message: /not an ELF/ });
});

function fakeBzImage(release: string, payload: Buffer): Buffer {
  const b = Buffer.alloc(0x1000);
  b[0x1f1] = 3; // setup sectors → protected-mode code at (3+1)*512 = 0x800
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x600 - 0x200, 0x20e);
  b.write(`${release} (builder@example) #1 SMP`, 0x600, 'latin1');
  b.writeUInt32LE(0x10, 0x248);
  b.writeUInt32LE(payload.length, 0x24c);
  payload.copy(b, 0x800 + 0x10);
  return b;
}

test('kernel release and compressed payload are read from a bzImage header', (t) => {
  const xz = Buffer.from('fd377a585a00aabbcc', 'hex');
  const img = fakeBzImage('6.1.0-56-amd64', xz);
  t.is(bzImageRelease(img), '6.1.0-56-amd64');
  const p = bzImagePayload(img)!;
  t.is(p.compression, 'xz');
  t.deepEqual(p.data, xz);
  t.is(bzImageRelease(Buffer.alloc(0x1000)), undefined);
  t.is(bzImagePayload(fakeBzImage('x', Buffer.from('00112233', 'hex')))!.compression, undefined);
});
