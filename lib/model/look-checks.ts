/**
 * The check kinds that look at what the lab did rather than whether traffic passes (issue 14):
 * `state` (a read-only query and assertions on its result), `counter` (a before/after delta),
 * `log` (ovs-vswitchd's log) and `transfer` (N bytes, verified by length and SHA-256).
 * Resolved from the recipe by lib/recipe/resolve-checks.ts, run by lib/checks/<kind>.ts.
 */

/**
 * An expectation as written in a recipe: a plain value (equality) or a matcher map
 * ({ min, max, equals, exists, matches, contains, not_contains, one_of }, lib/checks/expect.ts).
 * A `state` expectation may also be { unchanged_since: STEP } / { changed_since: STEP }.
 */
export type ExpectValue = string | number | boolean | Record<string, unknown>;

/** `ip -d -j ARGS` in the node's namespace; the JSON it prints is asserted on. */
export interface IpQuery {
  tool: 'ip';
  args: string[];
}

/** A read-only OVS tool against the OVS instance of the node's host; its text is asserted on. */
export interface OvsQuery {
  tool: 'ovs';
  program: 'appctl' | 'ofctl' | 'vsctl';
  args: string[];
}

/** Text expectations (OVS queries): every listed string / regex, and lines matching a pattern. */
export interface TextExpect {
  contains: string[];
  notContains: string[];
  matches: string[];
  count?: { pattern: string; expect: ExpectValue };
}

export interface StateCheck {
  kind: 'state';
  name: string;
  /** The node the query runs in (host, guest or switch name). */
  on: string;
  /** The host that node lives on (for a guest: its switch's host). */
  host: string;
  query: IpQuery | OvsQuery;
  /** ip: keep the entries of the printed list whose fields match (JSON path → expectation). */
  where: Record<string, ExpectValue>;
  /** ip: JSON path → expectation, on the entry (a one-entry list is that entry) or the list. */
  expect: Record<string, ExpectValue>;
  /** ip: expectation on the number of entries (after `where`). */
  count?: ExpectValue;
  text?: TextExpect;
}

export type CounterSource =
  /** A kernel link's counters (`ip -s -s -j link show dev DEV`). */
  | { kind: 'link'; dev: string }
  /** An OVS port's live counters (`ovs-ofctl dump-ports BRIDGE PORT`). */
  | { kind: 'ovs_port'; bridge: string; port: string }
  /** The OpenFlow flow(s) with exactly this match and priority (`ovs-ofctl --strict dump-flows BRIDGE MATCH`): n_packets, n_bytes. */
  | { kind: 'ovs_flow'; bridge: string; match: string }
  /** Hits of tc filters on a device (their actions' statistics). */
  | { kind: 'tc'; dev: string; direction: 'ingress' | 'egress'; pref?: number }
  /** A counter rule geneve-lab installs at `up` in its own nftables table in the node's namespace. */
  | { kind: 'nft'; family: 'inet'; table: string; chain: string; hook: NftHook; match: string; comment: string };

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface CounterCheck {
  kind: 'counter';
  name: string;
  on: string;
  host: string;
  source: CounterSource;
  /** Counter name: rx_frame_errors, tx_packets, packets, bytes … */
  field: string;
  /** Expectation on the delta (min/max/equals). */
  delta: { min?: number; max?: number; equals?: number };
  /** Measure around this check of the same group (like a capture's `during`). */
  during?: string;
  /** Measure from the end of this earlier step (snapshot taken by the scenario runner). */
  since?: string;
}

export type LogLevel = 'WARN' | 'ERR' | 'EMER';

export interface LogCheck {
  kind: 'log';
  name: string;
  /** The host whose ovs-vswitchd log is read. */
  host: string;
  /** Regexes each of which some line must match. */
  must: string[];
  /** Regexes no line may match. */
  mustNot: string[];
  /** The gate: no WARN/ERR/EMER line other than the allowed ones (defaults plus `allow`). */
  gate?: { allow: string[] };
  during?: string;
  since?: string;
  /** Run after every other check of the run (the default gate looks at the whole lab's life). */
  final?: boolean;
  /** Log file on an SSH host (default /var/log/openvswitch/ovs-vswitchd.log). */
  file?: string;
}

export interface TransferCheck {
  kind: 'transfer';
  name: string;
  from: string;
  to: string;
  family: 'ipv4' | 'ipv6';
  protocol: 'tcp' | 'udp';
  bytes: number;
  seed: number;
  timeoutMs: number;
  /** UDP: payload bytes per datagram (plus a 12-byte header of ours). */
  chunk: number;
  /** UDP: pacing in bits per second. */
  rateBps: number;
  port?: number;
  /** delivered: every byte arrived intact; undelivered: it must not (a black hole, a filter). */
  expect: 'delivered' | 'undelivered';
}

export type LookCheck = StateCheck | CounterCheck | LogCheck | TransferCheck;
