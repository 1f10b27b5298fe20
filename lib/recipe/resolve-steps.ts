/**
 * `steps:` (schema-valid, checked by semantic-steps.ts) → ScenarioStep[] of the resolved Lab:
 * checks built by resolve.ts itself (through a recipe whose `checks:` is the step's list), node
 * names turned into namespaces and interfaces, OVS arguments given the real bridge and port names
 * (lib/ovs/port-names.ts), units settled. Problems only the model can reveal (a port a flow names
 * that the switch does not have, an interface the node does not have) are reported here, located.
 */
import type { Problem } from '../errors.js';
import type { Check, Lab } from '../model/types.js';
import type { ActionStep, GroupActionStep, ScenarioStep, SetTarget, OvsTool, TunnelChange } from '../model/scenario.js';
import { RESERVED_PORTS, resolveArgs, resolveFlowPorts, resolvePortName, switchPorts, type SwitchPorts } from '../ovs/port-names.js';
import { underlayBridgeName } from '../plan/ovs.js';
import { normalizeHex } from '../scenario/hex.js';
import { ofctlArgsChooseVersion, ofctlProtocolArgs } from '../model/ovs-program.js';
import { suggest, type Locator, type Path } from './locate.js';
import { resolveLab } from './resolve.js';
import type { RawRecipe, RawStep } from './schema.js';
import { offloadValue } from './schema-steps.js';
import type { ActionBodies, StepDecision, StepKind, StepsAnalysis } from './semantic-steps.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
export const DEFAULT_RESTART_TIMEOUT_MS = 30_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
export const DEFAULT_WAIT_EVERY_MS = 1000;

/** ovs-ofctl commands that take no switch argument (everything else takes SWITCH first). */
const OFCTL_WITHOUT_SWITCH = new Set(['ofp-parse', 'ofp-parse-pcap', 'parse-flow', 'parse-flows', 'parse-nx-match', 'parse-ofp10-match', 'parse-oxm', 'parse-actions', 'parse-instructions', 'print-error', 'encode-error-reply', 'ofp-print', 'encode-hello', 'compose-packet', 'diff-flows', 'version', 'help', 'list-commands']);
/** ovs-ofctl options that take their value as the next word. */
const OFCTL_OPTIONS_WITH_VALUE = new Set(['-O', '-F', '-P', '-t', '--protocols', '--flow-format', '--packet-in-format', '--timeout']);

/** Whether an OVS command only reads (so running it does not make the lab "mutated"). */
export function ovsCommandWrites(tool: OvsTool, command: string | undefined): boolean {
  if (!command) return true;
  if (tool === 'ofctl') return !/^(dump-|show$|snoop$|monitor$|probe$|ping$|benchmark$|queue-stats$|queue-get-config$|get-frags$|ofp-|parse-|compose-packet$|diff-flows$|version$|help$)/.test(command);
  if (tool === 'vsctl') return !/^(show|list|list-br|list-ports|list-ifaces|get|find|br-exists|port-to-br|iface-to-br|br-to-vlan|br-to-parent|get-controller|get-fail-mode|get-manager|get-ssl|wait-until|comment)$/.test(command);
  return !/(^|\/)(show|dump-[a-z-]+|list[a-z-]*|version|help|trace|status|get[a-z-]*)$/.test(command) && !/^(ofproto\/trace|dpif\/show|dpctl\/dump-[a-z-]+|fdb\/show|tnl\/[a-z-]*show|bond\/show|coverage\/show|memory\/show|vlog\/list|version|list-commands)/.test(command);
}

/** Index of the command word in ovs-ofctl arguments (after options). */
function commandIndex(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) return i;
    if (OFCTL_OPTIONS_WITH_VALUE.has(a)) i++;
  }
  return -1;
}

export function resolveSteps(r: RawRecipe, sa: StepsAnalysis, lab: Lab, loc: Locator, source: string): { steps: ScenarioStep[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const err = (path: Path, msg: string) => problems.push(loc.problem(path, msg));
  const raw = r.steps ?? [];
  const steps: ScenarioStep[] = [];

  const checksOf = (d: StepDecision): Check[] => {
    const c = d.checks!;
    const { lab: sub } = resolveLab({ ...r, checks: c.raw }, c.analysis, loc, source, { gates: false });
    const rename = (n: string) => {
      const direct = c.rename.get(n);
      if (direct !== undefined) return direct;
      for (const [from, to] of c.rename) if (n.startsWith(`${from} › `)) return to + n.slice(from.length);
      return n;
    };
    return sub.checks.map((chk) => renameCheck(chk, rename));
  };

  /** Every port of the OVS switches on a host, for vsctl/appctl against the host's instance. */
  const hostPorts = (host: string): SwitchPorts => {
    const all: SwitchPorts = { switch: host, bridge: '', ports: new Map() };
    for (const s of lab.switches) if (s.host === host && s.kind === 'ovs') for (const [k, v] of switchPorts(lab, s.name).ports) all.ports.set(k, v);
    return all;
  };

  for (const d of sa.steps) {
    const s = raw[d.index]!;
    const p: Path = ['steps', d.index];
    switch (d.kind) {
      case 'check': {
        const [check] = checksOf(d);
        if (check) steps.push({ kind: 'check', name: check.name, check });
        break;
      }
      case 'group': {
        // A group's actions (semantic-steps named them) resolve exactly like action steps.
        const actions = (d.actions ?? []).flatMap((x) => {
          const act = resolveAction(x.kind, x.name, s.checks![x.index]!, [...p, 'checks', x.index]);
          return act ? [act as GroupActionStep] : [];
        });
        steps.push({ kind: 'group', name: d.name, checks: checksOf(d), ...(actions.length ? { actions } : {}) });
        break;
      }
      case 'wait': {
        const [until] = checksOf(d);
        if (until) steps.push({ kind: 'wait', name: d.name, until, timeoutMs: s.wait!.timeout ?? DEFAULT_WAIT_TIMEOUT_MS, everyMs: s.wait!.every ?? DEFAULT_WAIT_EVERY_MS });
        break;
      }
      default: {
        const act = resolveAction(d.kind, d.name, s, p);
        if (act) steps.push(act);
      }
    }
  }
  return { steps, problems };

  /** One action (a step, or an item of a group written at `p`) with its names and units resolved. */
  function resolveAction(kind: StepKind, name: string, s: ActionBodies, p: Path): ActionStep | undefined {
    switch (kind) {
      case 'sleep':
        return { kind: 'sleep', name, ms: s.sleep! };
      case 'exec': {
        const x = s.exec!;
        return {
          kind: 'exec',
          name,
          on: x.on,
          argv: x.argv,
          expectExit: x.expect_exit ?? 0,
          ...(x.stdout !== undefined ? { stdout: x.stdout as never } : {}),
          ...(x.stderr !== undefined ? { stderr: x.stderr as never } : {}),
          timeoutMs: x.timeout ?? DEFAULT_EXEC_TIMEOUT_MS,
        };
      }
      case 'restart':
        return { kind: 'restart', name, host: s.restart!.ovs, timeoutMs: s.restart!.timeout ?? DEFAULT_RESTART_TIMEOUT_MS };
      case 'ovs': {
        const o = s.ovs!;
        const tool: OvsTool = o.vsctl ? 'vsctl' : o.ofctl ? 'ofctl' : 'appctl';
        const written = o[tool]!;
        const sw = lab.switches.find((x) => x.name === o.on);
        const host = sw?.host ?? o.on;
        const ports = sw ? switchPorts(lab, sw.name) : hostPorts(host);
        let args = [...written];
        let command: string | undefined;
        if (tool === 'ofctl') {
          const at = commandIndex(args);
          command = args[at];
          if (at < 0) err([...p, 'ovs', 'ofctl'], 'ofctl needs a command word, e.g. [dump-flows] or [add-flow, "in_port=left,actions=output:tun0"]');
          else if (sw && !OFCTL_WITHOUT_SWITCH.has(command!)) {
            // The switch is implied; written anyway (by recipe or bridge name), it is replaced.
            const next = args[at + 1];
            if (next === sw.name || next === sw.ifname) args[at + 1] = sw.ifname;
            else args.splice(at + 1, 0, sw.ifname);
          }
          // The OpenFlow version the switch speaks, unless the step chose one (-O).
          if (sw && !ofctlArgsChooseVersion(args)) args = [...ofctlProtocolArgs(sw.program), ...args];
        } else command = tool === 'vsctl' ? args.find((a) => !a.startsWith('-')) : args[0];
        const res = resolveArgs(args, ports);
        args = res.args;
        for (const u of new Set(res.unknown)) err([...p, 'ovs', tool], unknownPort(u, ports, sw ? `switch "${sw.name}"` : `host "${host}"`));
        return { kind: 'ovs', name, switch: sw?.name ?? '', host, tool, written, args, expectExit: o.expect_exit ?? 0, ...(o.stdout !== undefined ? { stdout: o.stdout as never } : {}), writes: ovsCommandWrites(tool, command) };
      }
      case 'packet_out': {
        const x = s.packet_out!;
        const sw = lab.switches.find((y) => y.name === x.switch)!;
        const ports = switchPorts(lab, sw.name);
        const inWritten = String(x.in_port ?? 'LOCAL');
        const inPort = resolvePortName(inWritten, ports);
        if (inPort === undefined) err([...p, 'packet_out', 'in_port'], unknownPort(inWritten, ports, `switch "${sw.name}"`));
        const acts = resolveFlowPorts(`actions=${x.actions}`, ports);
        for (const u of acts.unknown) err([...p, 'packet_out', 'actions'], unknownPort(u, ports, `switch "${sw.name}"`));
        return { kind: 'packet_out', name, switch: sw.name, host: sw.host, bridge: sw.ifname, inPort: inPort ?? inWritten, packet: normalizeHex(x.packet), actions: acts.text.slice('actions='.length) };
      }
      case 'inject': {
        const x = s.inject!;
        const where = injectInterfaces(lab, x.on);
        if (!where) return undefined; // semantic-steps reported the node
        let ifname = x.interface === undefined ? where.default : (where.aliases.get(x.interface) ?? x.interface);
        if (ifname === undefined) err([...p, 'inject'], `"${x.on}" has several interfaces; name one with interface: ${where.names.join(', ')}`);
        else if (!where.names.includes(ifname)) {
          err([...p, 'inject', 'interface'], `"${x.on}" has no interface "${x.interface}"${suggest(x.interface!, [...where.names, ...where.aliases.keys()])}; its interfaces: ${where.names.join(', ') || 'none'}`);
          ifname = undefined;
        }
        return { kind: 'inject', name, on: x.on, ns: where.ns, ifname: ifname ?? '', frame: normalizeHex(x.frame), count: x.count ?? 1, intervalMs: x.interval ?? 0 };
      }
      case 'set': {
        const x = s.set!;
        const targets: SetTarget[] = [];
        if (x.tunnel !== undefined) {
          const t = lab.tunnels.find((y) => y.name === x.tunnel)!;
          const ends = x.end === undefined ? [0, 1] : [t.ends.findIndex((e) => e.attach.name === x.end)];
          for (const e of ends) targets.push({ kind: 'tunnel', tunnel: t.name, end: e as 0 | 1 });
        } else if (x.guest !== undefined) targets.push({ kind: 'guest', guest: x.guest });
        else if (x.host !== undefined) {
          const h = lab.hosts.find((y) => y.name === x.host)!;
          const f = x.interface === undefined ? h.interfaces[0] : (h.interfaces.find((y) => y.network === x.interface) ?? h.interfaces.find((y) => y.ifname === x.interface));
          if (f) targets.push({ kind: 'host', host: h.name, network: f.network });
        } else if (x.switch !== undefined) targets.push({ kind: 'switch', switch: x.switch });
        const tunnel: TunnelChange = {};
        for (const k of ['vni', 'dstport', 'ttl', 'tos', 'df'] as const) if (x[k] !== undefined) (tunnel as Record<string, unknown>)[k] = x[k];
        return {
          kind: 'set',
          name,
          targets,
          ...(x.mtu !== undefined ? { mtu: x.mtu } : {}),
          ...(x.offloads !== undefined ? { offloads: Object.fromEntries(Object.entries(x.offloads).map(([k, v]) => [k, offloadValue(v)])) } : {}),
          ...(Object.keys(tunnel).length ? { tunnel } : {}),
        };
      }
    }
    return undefined;
  }
}

function unknownPort(name: string, ports: SwitchPorts, where: string): string {
  const known = [...ports.ports.keys()];
  return `unknown port "${name}"${suggest(name, known)} on ${where}; its ports: ${known.join(', ') || 'none'} (or a port number, or ${RESERVED_PORTS.slice(0, 4).join('/')}…)`;
}

/** The check with its (and its inner checks') names and `during` reference renamed. */
function renameCheck(c: Check, rename: (n: string) => string): Check {
  const out = { ...c, name: rename(c.name) } as Check & { during?: unknown; then?: Check[] };
  if (typeof out.during === 'string') out.during = rename(out.during);
  if (Array.isArray(out.then)) out.then = out.then.map((x) => renameCheck(x, rename));
  return out;
}

/** Where frames from a node leave: its namespace and the interfaces in it the lab made. */
export function injectInterfaces(lab: Lab, node: string): { ns: string; names: string[]; aliases: Map<string, string>; default?: string } | undefined {
  const g = lab.guests.find((x) => x.name === node);
  if (g) return { ns: g.ns, names: [g.ifname], aliases: new Map(), default: g.ifname };
  const sw = lab.switches.find((x) => x.name === node);
  const hostName = sw?.host ?? node;
  const h = lab.hosts.find((x) => x.name === hostName);
  if (!h) return undefined;
  const aliases = new Map<string, string>();
  const names = new Set<string>();
  for (const f of h.interfaces) {
    names.add(f.ifname);
    aliases.set(f.network, f.ifname);
    names.add(underlayBridgeName(f.ifname));
  }
  for (const s of lab.switches) if (s.host === h.name) (names.add(s.ifname), aliases.set(s.name, s.ifname));
  for (const gg of lab.guests) if (gg.host === h.name) names.add(gg.peerIfname);
  for (const t of lab.tunnels) for (const e of t.ends) if (e.host === h.name && e.impl === 'kernel') (names.add(e.ifname), aliases.set(t.name, e.ifname));
  const dflt = sw ? sw.ifname : h.interfaces.length === 1 ? h.interfaces[0]!.ifname : undefined;
  return { ns: h.ns, names: [...names], aliases, ...(dflt ? { default: dflt } : {}) };
}

export type { RawStep };
