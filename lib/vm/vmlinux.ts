/**
 * Under TCG, decompressing a bzImage takes seconds. qemu can boot the uncompressed ELF kernel
 * directly through its PVH entry point, so we extract it once into the cache. Any problem
 * (unknown compression, missing tool) falls back to the bzImage: slower, never wrong.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runProcess, type Run } from './process.js';

export type Compression = 'xz' | 'gzip' | 'zstd';

/** The compressed payload inside a bzImage (x86 boot protocol ≥ 2.08: payload_offset/length at 0x248). */
export function bzImagePayload(buf: Buffer): { data: Buffer; compression: Compression | undefined } | undefined {
  if (buf.length < 0x250 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const setupSects = buf[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (offset + length > buf.length || length === 0) return undefined;
  const data = buf.subarray(offset, offset + length);
  const magic = data.subarray(0, 6).toString('hex');
  const compression = magic === 'fd377a585a00' ? 'xz' : magic.startsWith('1f8b') ? 'gzip' : magic.startsWith('28b52ffd') ? 'zstd' : undefined;
  return { data, compression };
}

function isElf(buf: Buffer): boolean {
  return buf.length > 4 && buf.readUInt32BE(0) === 0x7f454c46;
}

/** Path of the uncompressed kernel for `bzImagePath`, or the bzImage itself when extraction is not possible. */
export async function bootableKernel(bzImagePath: string, release: string, cacheDir: string, run: Run = runProcess): Promise<string> {
  const st = await stat(bzImagePath);
  const dir = join(cacheDir, 'vmlinux');
  const out = join(dir, `${release}-${st.size}-${Math.trunc(st.mtimeMs)}.elf`);
  if (existsSync(out)) return out;
  const payload = bzImagePayload(await readFile(bzImagePath));
  if (!payload?.compression) return bzImagePath;
  await mkdir(dir, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const tmp = `${out}.tmp-${tag}`;
  const packed = `${out}.packed-${tag}`;
  try {
    if (payload.compression === 'gzip') {
      await writeFile(tmp, gunzipSync(payload.data, { finishFlush: 2 }));
    } else {
      await writeFile(packed, payload.data);
      // The payload is followed by padding, which makes xz/zstd complain at the end although
      // the output is complete; the ELF check below decides.
      await run(['sh', '-c', '"$1" -dc -- "$2" > "$3" 2>/dev/null; exit 0', 'sh', payload.compression, packed, tmp]);
    }
    const head = await readFile(tmp).catch(() => Buffer.alloc(0));
    if (!isElf(head)) return bzImagePath;
    await rename(tmp, out);
    return out;
  } catch {
    return bzImagePath;
  } finally {
    await rm(tmp, { force: true });
    await rm(packed, { force: true });
  }
}
