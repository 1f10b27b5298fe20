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

/**
 * `-O VERSION` for every ovs-ofctl run against the switch (its program, scenario steps, checks,
 * artifacts, the TUI, the toolbox): the version the program names (`openflow`), else — when the
 * bridge does not accept OpenFlow 1.0, ovs-ofctl's default — the newest it accepts (ovs-ofctl
 * could not even connect otherwise: "version negotiation failed"). Nothing when 1.0 is accepted.
 */
export function ofctlProtocolArgs(p: OvsProgram | undefined): string[] {
  if (p?.openflow) return ['-O', p.openflow];
  if (p?.protocols?.length && !p.protocols.includes('OpenFlow10')) return ['-O', [...p.protocols].sort().at(-1)!];
  return [];
}

/** ofctlProtocolArgs of the OVS switch whose bridge is `bridge` (its device name) in `switches`; [] for any other bridge. */
export function bridgeOfctlArgs(switches: readonly { ifname: string; kind: string; program?: OvsProgram }[], bridge: string): string[] {
  const sw = switches.find((s) => s.kind === 'ovs' && s.ifname === bridge);
  return ofctlProtocolArgs(sw?.program);
}

/**
 * What to put before ovs-ofctl arguments written by a user (a state check, the toolbox): the
 * version of the lab's switch whose bridge they name, unless they chose one themselves (-O).
 */
export function ofctlVersionForArgs(switches: readonly { ifname: string; kind: string; program?: OvsProgram }[], args: readonly string[]): string[] {
  if (ofctlArgsChooseVersion(args)) return [];
  const bridge = args.find((a) => switches.some((s) => s.kind === 'ovs' && s.ifname === a));
  return bridge ? bridgeOfctlArgs(switches, bridge) : [];
}

/** Whether ovs-ofctl arguments already choose a protocol version (then nothing is added). */
export function ofctlArgsChooseVersion(args: readonly string[]): boolean {
  return args.some((a) => a === '-O' || a.startsWith('-O') || a === '--protocols' || a.startsWith('--protocols='));
}
