/** The project's own packet decoder: pcap/pcapng → Ethernet/IP/UDP → Geneve/VXLAN → inner frame. */
export { decodePcap, decodeCapture, decodeFrame, decodeRecord, describeDecodeError } from './decode.js';
export type { DecodedPacket, DecodeOptions, Ipv4Header, Ipv6Header, UdpHeader, InnerFrame } from './decode.js';
export { decodeGeneve, ovnPortKeys, GENEVE_PORT, OVN_CLASS, OVN_TYPE } from './geneve.js';
export type { GeneveHeader, GeneveOption } from './geneve.js';
export { VXLAN_PORTS } from './vxlan.js';
export type { VxlanHeader } from './vxlan.js';
export { readCaptureFile, LinkType } from './pcap.js';
export type { CaptureFile, CaptureRecord } from './pcap.js';
export { CaptureFileError } from './errors.js';
export type { DecodeError, DecodeErrorCode, DecodeLayer } from './errors.js';
export { canonicalIp, canonicalMac, parseIp, sameIp } from './addr.js';
export { decryptEsp, espHeader, findSa } from './esp.js';
export type { EspHeader, EspSa } from './esp.js';
export { decodeGre } from './gre.js';
export type { GreHeader } from './gre.js';
