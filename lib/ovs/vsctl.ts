/**
 * Pure helpers for building ovs-vsctl argv: value quoting, one transaction out of many
 * commands, and the ownership tag every bridge/port we create carries.
 */

/** external_ids key that marks bridges and ports as belonging to a lab. */
export const OWNER_KEY = 'geneve-lab';

/** One ovs-vsctl command (without the `--` separator), e.g. ['--may-exist', 'add-br', 'br0']. */
export type VsctlCommand = readonly string[];

/**
 * Join commands into one ovs-vsctl transaction: `a -- b -- c`. One transaction means OVS
 * applies all or nothing, and vswitchd reconfigures once.
 */
export function transaction(commands: readonly VsctlCommand[]): string[] {
  const out: string[] = [];
  for (const c of commands) {
    if (c.length === 0) continue;
    if (out.length) out.push('--');
    out.push(...c);
  }
  return out;
}

/**
 * Quote a value as an OVSDB string atom when it is not a bare word: ovs-vsctl parses
 * `key=value` values itself, so spaces, quotes, commas or braces would otherwise change meaning.
 */
export function atom(value: string | number | boolean): string {
  const s = String(value);
  return /^[A-Za-z0-9_.:\/-]+$/.test(s) ? s : JSON.stringify(s);
}

/** `column:key=value` arguments for a map column (external_ids, options, other_config). */
export function mapArgs(column: string, map: Record<string, string | number | boolean | undefined>): string[] {
  return Object.entries(map)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${column}:${atom(k)}=${atom(v as string | number | boolean)}`);
}

export function ownerTag(lab: string): Record<string, string> {
  return { [OWNER_KEY]: lab };
}

export interface BridgeSpec {
  name: string;
  /** `netdev` = userspace datapath, `system` = kernel datapath. */
  datapath: 'system' | 'netdev';
  /** Lab that owns the bridge (external_ids:geneve-lab). */
  lab: string;
  failMode?: 'standalone' | 'secure';
  externalIds?: Record<string, string>;
  /** OpenFlow versions the bridge speaks (Bridge.protocols); unset = OVS's default (1.0..1.5). */
  protocols?: readonly string[];
  /** MAC of the bridge's LOCAL port (other_config:hwaddr). */
  hwaddr?: string;
}

/** Create (or keep) a bridge and set its datapath and ownership tag. */
export function bridgeCommands(b: BridgeSpec): VsctlCommand[] {
  return [
    ['--may-exist', 'add-br', b.name],
    [
      'set',
      'Bridge',
      b.name,
      `datapath_type=${b.datapath}`,
      ...(b.failMode ? [`fail_mode=${b.failMode}`] : []),
      ...(b.protocols?.length ? [`protocols=${b.protocols.join(',')}`] : []),
      ...(b.hwaddr ? mapArgs('other_config', { hwaddr: b.hwaddr }) : []),
      ...mapArgs('external_ids', { ...b.externalIds, ...ownerTag(b.lab) }),
    ],
  ];
}

export interface PortSpec {
  bridge: string;
  name: string;
  lab: string;
  /** `system` (default): an existing netdev such as a veth end; `internal`: OVS creates it. */
  type?: 'system' | 'internal';
  ofport?: number;
  mtu?: number;
}

/** Add (or keep) a plain port on a bridge, tagged as the lab's. */
export function portCommands(p: PortSpec): VsctlCommand[] {
  const iface = [
    ...(p.type === 'internal' ? ['type=internal'] : []),
    ...(p.ofport !== undefined ? [`ofport_request=${p.ofport}`] : []),
    ...(p.mtu !== undefined ? [`mtu_request=${p.mtu}`] : []),
  ];
  return [
    ['--may-exist', 'add-port', p.bridge, p.name, ...mapArgs('external_ids', ownerTag(p.lab))],
    ...(iface.length ? [['set', 'Interface', p.name, ...iface]] : []),
  ];
}

export function delBridgeCommand(name: string): VsctlCommand {
  return ['--if-exists', 'del-br', name];
}

export function delPortCommand(name: string, bridge?: string): VsctlCommand {
  return bridge ? ['--if-exists', 'del-port', bridge, name] : ['--if-exists', 'del-port', name];
}
