/**
 * An OVS switch's OpenFlow program, as the recipe gives it (`flows:`, `tlv_map:`, `groups:`,
 * `meters:`, `fail_mode:`, `protocols:`, `openflow:`), resolved: port names in flows are the
 * names the lab created (lib/ovs/port-names.ts), and every line remembers where it was written
 * so that a refusal by ovs-ofctl can point at the recipe line.
 */

export const OPENFLOW_VERSIONS = ['OpenFlow10', 'OpenFlow11', 'OpenFlow12', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'] as const;
export type OpenFlowVersion = (typeof OPENFLOW_VERSIONS)[number];

/** `{class, type, len} -> tun_metadataN` (ovs-ofctl add-tlv-map). */
export interface TlvMapEntry {
  class: number;
  type: number;
  /** Option body length in bytes: 0..124, a multiple of 4. */
  len: number;
  /** N of tun_metadataN (0..63). */
  field: number;
}

/** One flow / group / meter line of the program. */
export interface ProgramLine {
  /** What ovs-ofctl gets: the recipe's text with recipe port names replaced by real ones. */
  text: string;
  /** As written in the recipe. */
  source: string;
  /** Where it was written: "file:line:column" (empty when unknown, e.g. built in code). */
  at: string;
}

export interface OvsProgram {
  failMode?: 'standalone' | 'secure';
  /** Bridge `protocols` column (OpenFlow versions the switch speaks). */
  protocols?: OpenFlowVersion[];
  /** The version ovs-ofctl speaks to this switch (`-O`), for the program and for steps. */
  openflow?: OpenFlowVersion;
  tlvMap: TlvMapEntry[];
  /** undefined: the default program (actions=NORMAL); a list (even empty) replaces it. */
  flows?: ProgramLine[];
  groups: ProgramLine[];
  meters: ProgramLine[];
}

/** `-O VERSION` for ovs-ofctl when the switch's program names one. */
export function ofctlProtocolArgs(p: OvsProgram | undefined): string[] {
  return p?.openflow ? ['-O', p.openflow] : [];
}
