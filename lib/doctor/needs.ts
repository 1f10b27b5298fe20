/**
 * Which programs a lab will run, and on which machine — found before anything changes, so that a
 * missing ovs-vswitchd, iperf3 or tcpdump is exit 3 with the fix instead of a half-applied lab
 * (exit 4) or a "failed" check (exit 1) that only says the tool was not found.
 *
 * Tools come from the plan (every operation says what runs it) and from the checks (where each
 * check's traffic starts). Machine "" is this one; anything else is an SSH host by name.
 * Lookups use exactly the PATH the run will use (doctor's `which`), so doctor and up agree.
 */
import type { Executor } from '../exec/executor.js';
import type { Check, Lab } from '../model/types.js';
import type { Plan } from '../plan/ops.js';
import { PrerequisiteError } from '../errors.js';
import { offPath, TOOLS, which } from './tools.js';

export type ToolNeeds = Map<string, Set<string>>;

const OVS_DAEMONS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-appctl'];

function add(needs: ToolNeeds, machine: string, ...tools: string[]): void {
  let set = needs.get(machine);
  if (!set) needs.set(machine, (set = new Set()));
  for (const t of tools) set.add(t);
}

/** The machine a lab host's commands run on: "" here, its name for an SSH host. */
function machineOf(lab: Lab, host: string | undefined): string {
  const h = host ? lab.hosts.find((x) => x.name === host) : undefined;
  return h?.placement.kind === 'ssh' ? h.name : '';
}

/** Programs the plan's operations run, per machine. */
export function planTools(lab: Lab, plan: Plan): ToolNeeds {
  const needs: ToolNeeds = new Map();
  // `ip` everywhere: namespaces (iproute2 backend), `ip netns exec` for tools and checks, inspection.
  add(needs, '', 'ip');
  for (const s of plan.steps) {
    const m = machineOf(lab, s.host);
    add(needs, m, 'ip');
    switch (s.op.op) {
      case 'offload.set':
        add(needs, m, 'ethtool');
        break;
      case 'tc.tunnel':
      case 'qdisc.netem':
        add(needs, m, 'tc');
        break;
      case 'sysctl.set':
        add(needs, m, 'sysctl');
        break;
      case 'ovs.start':
        add(needs, m, ...OVS_DAEMONS);
        break;
      case 'ovs.cmds':
        for (const c of s.op.cmds) {
          if (c.tool === 'exec') add(needs, m, c.argv[0]!);
          else add(needs, m, c.tool === 'ofctl' ? 'ovs-ofctl' : c.tool === 'appctl' ? 'ovs-appctl' : 'ovs-vsctl');
        }
        break;
      case 'ovs.tunnel':
        add(needs, m, 'ovs-vsctl');
        break;
      default:
        break;
    }
  }
  if (lab.hosts.some((h) => h.placement.kind === 'ssh')) add(needs, '', 'ssh');
  return needs;
}

/** The machine a check's traffic (or capture) starts on. */
function checkMachine(lab: Lab, endpoint: string): string {
  const g = lab.guests.find((x) => x.name === endpoint);
  if (g) return machineOf(lab, g.host);
  const s = lab.switches.find((x) => x.name === endpoint);
  if (s) return machineOf(lab, s.host);
  return machineOf(lab, endpoint);
}

/** Programs the checks run, per machine. */
export function checkTools(lab: Lab, checks: readonly Check[] = lab.checks): ToolNeeds {
  const needs: ToolNeeds = new Map();
  const one = (c: Check) => {
    switch (c.kind) {
      case 'ping':
      case 'mtu':
        add(needs, checkMachine(lab, c.from), 'ping', 'ip');
        break;
      case 'iperf':
        add(needs, checkMachine(lab, c.from), 'iperf3', 'ip');
        add(needs, checkMachine(lab, c.to), 'iperf3', 'ss');
        break;
      case 'capture':
        add(needs, checkMachine(lab, c.host), 'tcpdump', 'ip');
        break;
      case 'impair':
        add(needs, '', 'tc');
        for (const inner of c.then) one(inner);
        break;
      default:
        break;
    }
  };
  for (const c of checks) one(c);
  return needs;
}

export function mergeNeeds(...all: ToolNeeds[]): ToolNeeds {
  const out: ToolNeeds = new Map();
  for (const n of all) for (const [m, tools] of n) add(out, m, ...tools);
  return out;
}

const fixFor = (tool: string) => `apt-get install ${TOOLS[tool]?.pkg ?? tool}`;

/** Tools of this machine missing from PATH, as PrerequisiteError entries. */
export function missingLocalTools(needs: ToolNeeds): { feature: string; fix: string }[] {
  return [...(needs.get('') ?? [])].filter((t) => !which(t)).map((t) => ({ feature: `${t} is not installed (or not on PATH)`, fix: onPathHint(t) ?? fixFor(t) }));
}

/** When a tool is installed but outside PATH (a sudo without sbin in secure_path): say so. */
function onPathHint(tool: string): string | undefined {
  const at = offPath(tool);
  if (!at) return undefined;
  const dir = at.slice(0, at.lastIndexOf('/'));
  return `it is installed as ${at}, but ${dir} is not on PATH: add it (PATH=$PATH:${dir})`;
}

/**
 * Tools missing on SSH hosts: one `command -v` round trip per host (the names are passed as
 * arguments to a fixed script: never interpolated into a shell string).
 */
export async function missingRemoteTools(needs: ToolNeeds, execFor: (host: string) => Executor | undefined): Promise<{ feature: string; fix: string }[]> {
  const out: { feature: string; fix: string }[] = [];
  for (const [host, tools] of needs) {
    if (host === '' || !tools.size) continue;
    const ex = execFor(host);
    if (!ex) continue;
    const r = await ex.run(['sh', '-c', 'for t do command -v "$t" >/dev/null 2>&1 || echo "$t"; done', 'sh', ...tools]);
    if (r.exitCode !== 0) continue; // the host's own error surfaces at apply with its message
    for (const t of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean))
      out.push({ feature: `${t} is not installed on host "${host}" (${ex.where})`, fix: `on that machine: ${fixFor(t)}` });
  }
  return out;
}

/** Throw exit 3 listing every missing tool (this machine and SSH hosts), before any change. */
export async function assertTools(needs: ToolNeeds, execFor?: (host: string) => Executor | undefined): Promise<void> {
  const missing = [...missingLocalTools(needs), ...(execFor ? await missingRemoteTools(needs, execFor) : [])];
  if (missing.length) throw new PrerequisiteError(missing);
}
