/** VXLAN header (RFC 7348): flags byte (I = 0x08 means the VNI is valid), 24-bit VNI. */
import { need } from './errors.js';

export const VXLAN_PORTS = [4789, 8472]; // IANA, and the Linux kernel's historical default

export interface VxlanHeader {
  flags: number;
  /** True when the I flag says the VNI field is valid. */
  vniValid: boolean;
  vni: number;
}

/** Decode at `off`; returns the offset of the inner Ethernet frame. */
export function decodeVxlan(b: Buffer, off: number, end: number, onHeader: (h: VxlanHeader) => void): number {
  need(end, off, 8, 'vxlan', 'the 8-byte header');
  onHeader({ flags: b[off]!, vniValid: (b[off]! & 0x08) !== 0, vni: b.readUIntBE(off + 4, 3) });
  return off + 8;
}
