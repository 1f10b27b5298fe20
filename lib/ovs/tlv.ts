/**
 * Geneve options (TLVs) on OVS: bind each option to a tun_metadataN field (`add-tlv-map`) and
 * build the flows that set them on egress and match them on ingress. OVN's option is sugar on
 * top: class 0x0102, type 0x80 (critical), 4-byte body = 15-bit ingress key << 16 | 16-bit egress key.
 */
import { OvsSpecError } from './errors.js';

export interface GeneveTlv {
  class: number;
  /** Bit 7 is the critical bit. */
  type: number;
  /** Body as hex without 0x; a multiple of 4 bytes, at most 124; empty = an option without data. */
  data: string;
}

export const OVN_GENEVE_CLASS = 0x0102;
export const OVN_GENEVE_TYPE = 0x80;
const MAX_OPTION_BYTES = 124;
const MAX_TOTAL_BYTES = 252;

const hex = (n: number, width = 0) => '0x' + n.toString(16).padStart(width, '0');

export function validateTlvs(subject: string, opts: readonly GeneveTlv[]): void {
  let total = 0;
  opts.forEach((o, i) => {
    const f = `options[${i}]`;
    if (!Number.isInteger(o.class) || o.class < 0 || o.class > 0xffff) throw new OvsSpecError(subject, `${f}.class`, `${o.class} is not 0..0xffff`);
    if (!Number.isInteger(o.type) || o.type < 0 || o.type > 0xff) throw new OvsSpecError(subject, `${f}.type`, `${o.type} is not 0..0xff`);
    if (!/^([0-9a-fA-F]{2})*$/.test(o.data)) throw new OvsSpecError(subject, `${f}.data`, `"${o.data}" is not hex bytes (no 0x prefix)`);
    const len = o.data.length / 2;
    // RFC 8926 allows an option without data (length 0); OVS maps and sends those too.
    if (len % 4 !== 0 || len > MAX_OPTION_BYTES)
      throw new OvsSpecError(subject, `${f}.data`, `${len} bytes; an option body must be 0..${MAX_OPTION_BYTES} bytes in steps of 4`);
    total += 4 + len;
  });
  if (total > MAX_TOTAL_BYTES) throw new OvsSpecError(subject, 'options', `${total} bytes of options; Geneve allows at most ${MAX_TOTAL_BYTES}`);
  if (opts.length > 64) throw new OvsSpecError(subject, 'options', `${opts.length} options; OVS has 64 tun_metadata fields`);
}

/** OVN's port-key option. ingress: 15-bit logical inport key (1..32767); egress: 16-bit outport key (1..65535). */
export function ovnOption(ingress: number, egress: number): GeneveTlv {
  if (!Number.isInteger(ingress) || ingress < 1 || ingress > 0x7fff)
    throw new OvsSpecError('OVN option', 'ingress', `${ingress} is not a logical port key 1..32767 (15 bits; 0 is reserved)`);
  if (!Number.isInteger(egress) || egress < 1 || egress > 0xffff)
    throw new OvsSpecError('OVN option', 'egress', `${egress} is not a logical port key 1..65535 (16 bits; ≥32768 are multicast groups)`);
  return { class: OVN_GENEVE_CLASS, type: OVN_GENEVE_TYPE, data: ((ingress << 16) | egress).toString(16).padStart(8, '0') };
}

/** OVN's encapsulation: VNI = logical datapath key (24 bits), plus the port-key option. */
export function ovnEncap(p: { datapathKey: number; ingress: number; egress: number }): { vni: number; options: GeneveTlv[] } {
  if (!Number.isInteger(p.datapathKey) || p.datapathKey < 1 || p.datapathKey > 0xffffff)
    throw new OvsSpecError('OVN encapsulation', 'datapathKey', `${p.datapathKey} is not a logical datapath key 1..16777215 (24-bit VNI)`);
  return { vni: p.datapathKey, options: [ovnOption(p.ingress, p.egress)] };
}

/** `{class=0x102,type=0x80,len=4}->tun_metadata0,...` — option i is bound to tun_metadata(first+i). */
export function tlvMapSpec(opts: readonly GeneveTlv[], first = 0): string {
  return opts.map((o, i) => `{class=${hex(o.class)},type=${hex(o.type)},len=${o.data.length / 2}}->tun_metadata${first + i}`).join(',');
}

/** ovs-ofctl argv (after the tool name) that installs the TLV map on a bridge. */
export function addTlvMapArgs(bridge: string, opts: readonly GeneveTlv[], first = 0): string[] {
  return ['add-tlv-map', bridge, tlvMapSpec(opts, first)];
}

export interface OptionFlowSpec {
  bridge: string;
  /** OpenFlow port (name or number) of the local side, e.g. the guest's veth. */
  localPort: string | number;
  /** OpenFlow port of the tunnel. */
  tunnelPort: string | number;
  /** Options put on every packet that goes local → tunnel. */
  send: GeneveTlv[];
  /** Options a packet tunnel → local must carry; others are dropped. Omit to accept any. */
  accept?: GeneveTlv[];
  /** Set tun_id on egress and require it on ingress (for a port with key=flow). */
  vni?: number;
  /** First tun_metadata index (0 unless another user of the bridge already holds some). */
  firstMetadata?: number;
  priority?: number;
  /** OpenFlow cookie that marks the lab's flows (so they can be removed without touching others). */
  cookie?: number;
}

/**
 * The TLV map both directions need: every distinct option (class, type) of `send` and `accept`,
 * sent options first, in order. One (class, type) has one length on a bridge; a clash throws.
 */
export function optionLayout(subject: string, send: readonly GeneveTlv[], accept: readonly GeneveTlv[] = []): GeneveTlv[] {
  const out: GeneveTlv[] = [];
  for (const o of [...send, ...accept]) {
    const same = out.find((x) => x.class === o.class && x.type === o.type);
    if (!same) out.push({ class: o.class, type: o.type, data: o.data });
    else if (same.data.length !== o.data.length)
      throw new OvsSpecError(subject, 'options', `class ${hex(o.class)} type ${hex(o.type)} is used with ${same.data.length / 2} and ${o.data.length / 2} bytes of data; a bridge maps one option to one length`);
  }
  return out;
}

/**
 * Flows (ovs-ofctl add-flow syntax) that set options on egress and match them on ingress. Each
 * distinct option is bound to its own tun_metadata field (optionLayout, from `firstMetadata` on),
 * so the two directions may carry different options; install `addTlvMapArgs(bridge,
 * optionLayout(…), first)` before these flows.
 */
export function optionFlows(f: OptionFlowSpec): string[] {
  const subject = `option flows on bridge "${f.bridge}"`;
  validateTlvs(subject, f.send);
  if (f.accept) validateTlvs(subject, f.accept);
  const layout = optionLayout(subject, f.send, f.accept);
  const first = f.firstMetadata ?? 0;
  const field = (o: GeneveTlv) => `tun_metadata${first + layout.findIndex((x) => x.class === o.class && x.type === o.type)}`;
  const prio = f.priority ?? 100;
  const cookie = f.cookie !== undefined ? `cookie=${hex(f.cookie)},` : '';
  // An option without data is put on the packet by setting its (zero-width) field at all.
  const sets = f.send.map((o) => `set_field:${o.data ? `0x${o.data}` : '0'}->${field(o)}`);
  if (f.vni !== undefined) sets.push(`set_field:${f.vni}->tun_id`);
  const egress = `${cookie}table=0,priority=${prio},in_port=${f.localPort},actions=${[...sets, `output:${f.tunnelPort}`].join(',')}`;
  const flows = [egress];
  const tunMatch = f.vni !== undefined ? `,tun_id=${f.vni}` : '';
  if (f.accept) {
    // A zero-length option is matched by its presence alone.
    const matches = f.accept.map((o) => (o.data ? `,${field(o)}=0x${o.data}` : `,${field(o)}`)).join('');
    flows.push(`${cookie}table=0,priority=${prio},in_port=${f.tunnelPort}${tunMatch}${matches},actions=output:${f.localPort}`);
    // Anything from the tunnel without the expected options stops here: that makes the match testable.
    flows.push(`${cookie}table=0,priority=${prio - 1},in_port=${f.tunnelPort},actions=drop`);
  } else {
    flows.push(`${cookie}table=0,priority=${prio},in_port=${f.tunnelPort}${tunMatch},actions=output:${f.localPort}`);
  }
  return flows;
}

/** Bytes the options add to each packet (4-byte header + body each). */
export function optionsOverhead(opts: readonly GeneveTlv[]): number {
  return opts.reduce((n, o) => n + 4 + o.data.length / 2, 0);
}
