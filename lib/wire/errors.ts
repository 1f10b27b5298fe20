/**
 * Typed decode errors. A malformed or truncated packet never throws out of the decoder: it is
 * returned on the packet as `error`, naming the layer, the byte offset in the frame and what is
 * wrong, so a capture check can say "frame 7: geneve: option 2 …" instead of crashing.
 */

export type DecodeErrorCode =
  | 'truncated' // the frame ends before a header (or a field it announces) is complete
  | 'bad-version' // IP version nibble or Geneve version is not what the protocol allows
  | 'bad-length' // a length field is impossible (IHL < 5, UDP length < 8, …)
  | 'option-overrun' // a Geneve option's length runs past the options area
  | 'esp-auth-failed' // the ESP ICV does not verify with the SA's keys (wrong keys, or a corrupted packet)
  | 'esp-bad-padding' // decrypted, but the ESP trailer (padding, pad length) is not what RFC 4303 says
  | 'unsupported'; // a version or algorithm the decoder does not handle (GRE version ≠ 0, an ESP algorithm)

export type DecodeLayer = 'link' | 'ipv4' | 'ipv6' | 'udp' | 'geneve' | 'vxlan' | 'gre' | 'esp' | 'inner';

export interface DecodeError {
  code: DecodeErrorCode;
  layer: DecodeLayer;
  /** Byte offset in the captured frame where the faulty header starts. */
  offset: number;
  message: string;
}

/** Thrown inside layer decoders and caught by decodeFrame; never escapes the wire module. */
export class WireDecodeError extends Error {
  readonly detail: DecodeError;
  constructor(detail: DecodeError) {
    super(`${detail.layer}: ${detail.message}`);
    this.name = 'WireDecodeError';
    this.detail = detail;
  }
}

export function fail(code: DecodeErrorCode, layer: DecodeLayer, offset: number, message: string): never {
  throw new WireDecodeError({ code, layer, offset, message });
}

/** Throw `truncated` unless `need` bytes are available at `off` in a frame of `len` captured bytes. */
export function need(len: number, off: number, n: number, layer: DecodeLayer, what: string): void {
  if (off + n > len) {
    fail('truncated', layer, off, `${what} needs ${n} bytes at offset ${off}, but only ${Math.max(0, len - off)} were captured`);
  }
}

/** The capture file itself is unreadable (not pcap/pcapng, corrupt header). */
export class CaptureFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFileError';
  }
}
