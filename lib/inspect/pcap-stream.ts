/**
 * Records of a classic pcap stream as they arrive (`tcpdump -U -w -` on a pipe), for the live
 * capture view. The framing itself is lib/wire/pcap.ts's: each push re-reads the file header plus
 * the bytes not yet consumed, and keeps the incomplete tail for the next chunk.
 */
import { readCaptureFile, type CaptureRecord } from '../wire/pcap.js';
import { CaptureFileError } from '../wire/errors.js';

const HEADER = 24;
const RECORD_HEADER = 16;

export class PcapStream {
  private header: Buffer | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private seen = 0;

  /** The records completed by `chunk`, numbered from 1 across the whole stream. */
  push(chunk: Buffer): CaptureRecord[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.header) {
      if (this.pending.length < HEADER) return [];
      const head = this.pending.subarray(0, HEADER);
      if (readCaptureFile(head).format !== 'pcap') throw new CaptureFileError('a pcapng stream: only classic pcap can be read as it arrives');
      this.header = Buffer.from(head);
      this.pending = this.pending.subarray(HEADER);
    }
    if (this.pending.length < RECORD_HEADER) return [];
    const { records } = readCaptureFile(Buffer.concat([this.header, this.pending]));
    const consumed = records.reduce((n, r) => n + RECORD_HEADER + r.data.length, 0);
    // Copies: the records must not pin (or alias) the buffer the next push replaces.
    const out = records.map((r) => ({ ...r, index: ++this.seen, data: Buffer.from(r.data) }));
    this.pending = Buffer.from(this.pending.subarray(consumed));
    return out;
  }

  /** Bytes of a record still incomplete (a capture stopped mid-record). */
  get leftover(): number {
    return this.pending.length;
  }
}
