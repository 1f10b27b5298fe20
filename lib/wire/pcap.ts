/**
 * Capture file reader: classic libpcap (both byte orders, micro- and nanosecond stamps) and
 * pcapng (what dumpcap writes; SHB/IDB/EPB/SPB/obsolete PB, several sections and interfaces).
 * Only framing lives here; frames are decoded by decode.ts.
 */
import { CaptureFileError } from './errors.js';

/** LINKTYPE_* values we can decode (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  ethernet: 1,
  raw: 101,
  linuxSll: 113,
  ipv4: 228,
  ipv6: 229,
  linuxSll2: 276,
} as const;

export interface CaptureRecord {
  /** 1-based, like tshark's frame.number. */
  index: number;
  linkType: number;
  /** Seconds since the epoch, with the file's resolution. */
  timestamp: number;
  /** Bytes on the wire (may exceed data.length when the snap length cut the frame). */
  origLength: number;
  data: Buffer;
}

export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  records: CaptureRecord[];
  /** Non-fatal problems, e.g. a last record cut short because the writer was killed. */
  warnings: string[];
}

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

export function readCaptureFile(buf: Buffer): CaptureFile {
  if (buf.length < 4) throw new CaptureFileError(`not a capture file: only ${buf.length} bytes (an empty file usually means the capture never started)`);
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  if (le === PCAPNG_SHB) return readPcapng(buf);
  if ([PCAP_MICRO, PCAP_NANO].includes(le) || [PCAP_MICRO, PCAP_NANO].includes(be)) return readPcap(buf);
  throw new CaptureFileError(
    `not a pcap or pcapng file: magic 0x${be.toString(16).padStart(8, '0')} (expected a1b2c3d4, a1b23c4d or 0a0d0d0a)`,
  );
}

function readPcap(buf: Buffer): CaptureFile {
  if (buf.length < 24) throw new CaptureFileError(`pcap file header is cut short: ${buf.length} of 24 bytes`);
  const littleEndian = [PCAP_MICRO, PCAP_NANO].includes(buf.readUInt32LE(0));
  const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const nano = u32(0) === PCAP_NANO;
  // The upper bits of the link-type word may carry FCS information; the link type is the low 16 bits.
  const linkType = u32(20) & 0xffff;
  const records: CaptureRecord[] = [];
  const warnings: string[] = [];
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) {
      warnings.push(`record ${records.length + 1}: header cut short at end of file (${buf.length - off} of 16 bytes); ignored`);
      break;
    }
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    if (off + 16 + incl > buf.length) {
      warnings.push(`record ${records.length + 1}: ${incl} bytes announced, ${buf.length - off - 16} present at end of file; ignored`);
      break;
    }
    records.push({
      index: records.length + 1,
      linkType,
      timestamp: sec + frac / (nano ? 1e9 : 1e6),
      origLength: orig,
      data: buf.subarray(off + 16, off + 16 + incl),
    });
    off += 16 + incl;
  }
  return { format: 'pcap', records, warnings };
}

interface NgInterface {
  linkType: number;
  snapLen: number;
  /** Ticks per second of this interface's timestamps. */
  tsPerSecond: number;
}

function readPcapng(buf: Buffer): CaptureFile {
  const records: CaptureRecord[] = [];
  const warnings: string[] = [];
  let littleEndian = true;
  let ifaces: NgInterface[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) {
      warnings.push(`pcapng: block header cut short at offset ${off}; ignored`);
      break;
    }
    const typeLE = buf.readUInt32LE(off);
    if (typeLE === PCAPNG_SHB) {
      // A new section may switch byte order; the byte-order magic follows the block length.
      const bom = buf.readUInt32LE(off + 8);
      if (bom === PCAPNG_BOM) littleEndian = true;
      else if (buf.readUInt32BE(off + 8) === PCAPNG_BOM) littleEndian = false;
      else throw new CaptureFileError(`pcapng: bad byte-order magic at offset ${off + 8}`);
      ifaces = [];
    }
    const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const u16 = (o: number) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) throw new CaptureFileError(`pcapng: block at offset ${off} has impossible length ${len}`);
    if (off + len > buf.length) {
      warnings.push(`pcapng: block at offset ${off} announces ${len} bytes, ${buf.length - off} present; ignored`);
      break;
    }
    const body = off + 8;
    const bodyEnd = off + len - 4;
    switch (type) {
      case 1: {
        // Interface Description Block: link type, snap length, options (if_tsresol = 9).
        const iface: NgInterface = { linkType: u16(body), snapLen: u32(body + 4), tsPerSecond: 1e6 };
        let o = body + 8;
        while (o + 4 <= bodyEnd) {
          const code = u16(o);
          const olen = u16(o + 2);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const r = buf[o + 4]!;
            iface.tsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** (r & 0x7f);
          }
          o += 4 + olen + ((4 - (olen % 4)) % 4);
        }
        ifaces.push(iface);
        break;
      }
      case 6:
      case 2: {
        // Enhanced Packet Block (6) and the obsolete Packet Block (2, 16-bit interface id).
        const ifId = type === 6 ? u32(body) : u16(body);
        const iface = ifaces[ifId];
        if (!iface) throw new CaptureFileError(`pcapng: packet at offset ${off} refers to undeclared interface ${ifId}`);
        // 64-bit tick count; split in BigInt because nanosecond counts exceed 2^53.
        const ticks = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const tps = BigInt(iface.tsPerSecond);
        const timestamp = Number(ticks / tps) + Number(ticks % tps) / iface.tsPerSecond;
        const cap = u32(body + 12);
        const orig = u32(body + 16);
        const dataOff = body + 20;
        if (dataOff + cap > bodyEnd) throw new CaptureFileError(`pcapng: packet at offset ${off} claims ${cap} bytes beyond its block`);
        records.push({
          index: records.length + 1,
          linkType: iface.linkType,
          timestamp,
          origLength: orig,
          data: buf.subarray(dataOff, dataOff + cap),
        });
        break;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp; captured length is bounded by the snap length.
        const iface = ifaces[0];
        if (!iface) throw new CaptureFileError(`pcapng: simple packet at offset ${off} before any interface`);
        const orig = u32(body);
        const cap = Math.min(orig, iface.snapLen || orig, bodyEnd - body - 4);
        records.push({ index: records.length + 1, linkType: iface.linkType, timestamp: 0, origLength: orig, data: buf.subarray(body + 4, body + 4 + cap) });
        break;
      }
      default:
        break; // statistics, name resolution, custom blocks: not needed for decoding
    }
    off += len;
  }
  return { format: 'pcapng', records, warnings };
}
