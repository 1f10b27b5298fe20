/**
 * Scenario steps (docs/design/scenarios.md §2): the ordered part of a recipe. Every step has a
 * unique `name` (given, or derived like check names); results, JUnit test cases, `since:` and the
 * TUI use it. A step is a check, a group of checks run concurrently, or an action that changes
 * or pokes the running lab. Everything here is resolved: node names point at model objects,
 * OVS arguments already carry the real bridge and port names, units are settled.
 */
import type { Scalar, Matcher } from '../checks/expect.js';
import type { Check, GeneveParams } from './types.js';

/** One check run as a step of its own. Its name is the check's name. */
export interface CheckStep {
  kind: 'check';
  name: string;
  check: Check;
}

/**
 * Items run together, like `checks:` (concurrently, iperf alone, captures around their `during`).
 * Besides checks a group may hold actions (an inject, a packet_out, an exec…): a capture, counter
 * or log of the group can then be measured `during` an action, which is how a scenario sees what
 * an injected frame did on the wire. Actions start before the group's checks, in order.
 */
export interface GroupStep {
  kind: 'group';
  name: string;
  checks: Check[];
  actions?: GroupActionStep[];
}

/** Any command in a lab node's namespace; its exit code (and output) are asserted. */
export interface ExecStep {
  kind: 'exec';
  name: string;
  /** A host, guest or switch (a switch runs in its host's namespace). */
  on: string;
  argv: string[];
  expectExit: number;
  stdout?: Scalar | Matcher;
  stderr?: Scalar | Matcher;
  timeoutMs: number;
}

export type OvsTool = 'vsctl' | 'ofctl' | 'appctl';

/** ovs-vsctl/ovs-ofctl/ovs-appctl against the OVS instance that runs a switch. */
export interface OvsStep {
  kind: 'ovs';
  name: string;
  switch: string;
  host: string;
  tool: OvsTool;
  /** As written in the recipe (shown in messages). */
  written: string[];
  /** What runs: for ofctl the bridge name follows the command word, recipe port names are resolved. */
  args: string[];
  expectExit: number;
  stdout?: Scalar | Matcher;
  /** False for commands that only read (dump-flows, show, list…): they do not mark the lab mutated. */
  writes: boolean;
}

/** Stop a host's ovs-vswitchd and start it again on the same database (datapath devices survive). */
export interface RestartStep {
  kind: 'restart';
  name: string;
  host: string;
  timeoutMs: number;
}

/** What a `set` step changes. */
export type SetTarget =
  /** One end of a tunnel (its index in `Tunnel.ends`). */
  | { kind: 'tunnel'; tunnel: string; end: 0 | 1 }
  | { kind: 'guest'; guest: string }
  /** A host's underlay interface, by network (on an SSH host its name is found when connecting). */
  | { kind: 'host'; host: string; network: string }
  | { kind: 'switch'; switch: string };

/** Tunnel settings a `set` step can change on a running end. */
export type TunnelChange = Pick<GeneveParams, 'vni' | 'dstport' | 'ttl' | 'tos' | 'df'>;

export interface SetStep {
  kind: 'set';
  name: string;
  /** One entry per end changed (a tunnel without `end` changes both). */
  targets: SetTarget[];
  mtu?: number;
  /** ethtool -K feature → on/off. */
  offloads?: Record<string, boolean>;
  tunnel?: TunnelChange;
}

/** Retry one check until it passes or the timeout passes (OVS_WAIT_UNTIL). */
export interface WaitStep {
  kind: 'wait';
  name: string;
  until: Check;
  timeoutMs: number;
  everyMs: number;
}

export interface SleepStep {
  kind: 'sleep';
  name: string;
  ms: number;
}

/** Raw Ethernet frames sent from a packet socket in a node's namespace. */
export interface InjectStep {
  kind: 'inject';
  name: string;
  on: string;
  /** Namespace and interface the frames leave from. */
  ns: string;
  ifname: string;
  /** The frame as lower-case hex, no separators. */
  frame: string;
  count: number;
  intervalMs: number;
}

/** A packet handed to an OVS bridge with ovs-ofctl packet-out. */
export interface PacketOutStep {
  kind: 'packet_out';
  name: string;
  switch: string;
  host: string;
  bridge: string;
  /** Resolved port name or number, or a reserved port (LOCAL, CONTROLLER, NONE…). */
  inPort: string;
  packet: string;
  /** Resolved actions. */
  actions: string;
}

export type ActionStep = ExecStep | OvsStep | RestartStep | SetStep | WaitStep | SleepStep | InjectStep | PacketOutStep;
export type ScenarioStep = CheckStep | GroupStep | ActionStep;
/** Actions a group may hold: every action but `wait` (a retry loop of its own, not something to measure around). */
export type GroupActionStep = Exclude<ActionStep, WaitStep>;
export type ActionKind = ActionStep['kind'];

export const ACTION_KINDS = ['exec', 'ovs', 'restart', 'set', 'wait', 'sleep', 'inject', 'packet_out'] as const satisfies readonly ActionKind[];
export const GROUP_ACTION_KINDS = ACTION_KINDS.filter((k): k is GroupActionStep['kind'] => k !== 'wait');

/** The checks a step runs (for a wait: the check it retries). */
export function checksOfStep(s: ScenarioStep): Check[] {
  return s.kind === 'check' ? [s.check] : s.kind === 'group' ? s.checks : s.kind === 'wait' ? [s.until] : [];
}

/** Whether a step (when it runs) may change the lab, so a later `up` rebuilds it. */
export function stepMutates(s: ScenarioStep): boolean {
  switch (s.kind) {
    case 'set':
    case 'restart':
    case 'exec':
    case 'inject':
    case 'packet_out':
      return true;
    case 'ovs':
      return s.writes;
    case 'group':
      return (s.actions ?? []).some(stepMutates);
    default:
      return false;
  }
}

/** What a list of steps reports, in order: one entry per result (a group's checks each have theirs). */
export function stepEntries(steps: ScenarioStep[]): { name: string; kind: Check['kind'] | ActionKind }[] {
  return steps.flatMap((s): { name: string; kind: Check['kind'] | ActionKind }[] =>
    s.kind === 'group'
      ? [...(s.actions ?? []).map((a) => ({ name: a.name, kind: a.kind })), ...s.checks.map((c) => ({ name: c.name, kind: c.kind }))]
      : s.kind === 'check'
        ? [{ name: s.name, kind: s.check.kind }]
        : [{ name: s.name, kind: s.kind }],
  );
}
