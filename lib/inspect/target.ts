/**
 * Where a node of a running lab is, for the operator's verbs (exec, shell, ovs, capture): its
 * namespace on this machine, or its SSH host. Pure: argv building only, so every rule is tested
 * in the pure tier; lib/inspect/spawn.ts runs what is built here with the terminal attached.
 */
import { UsageError } from '../errors.js';
import { inNetns } from '../exec/executor.js';
import type { Lab } from '../model/types.js';
import { ofctlVersionForArgs } from '../model/ovs-program.js';
import { nodeOf, type NodeKind } from '../checks/nodes.js';
import { contextFromLab } from '../checks/context.js';
import { commonOptions, jumpOptions, remoteCommand, type SshSpec } from '../remote/ssh-args.js';
import { ovsLocation } from '../checks/nodes.js';
import { hostUsesOvs } from '../plan/ovs.js';

export interface NodeTarget {
  name: string;
  kind: NodeKind;
  host: string;
  /** The node's namespace; undefined = the SSH host's own namespace. */
  ns?: string;
  /** The node's main interface (guest NIC, host underlay NIC, switch bridge). */
  ifname?: string;
  /** Set when the node lives on an SSH host: how to reach it. */
  ssh?: SshSpec;
}

/** Every node name of the lab, for "unknown node" messages. */
export function nodeNames(lab: Lab): string[] {
  return [...lab.hosts.map((h) => h.name), ...lab.switches.map((s) => s.name), ...lab.guests.map((g) => g.name), ...(lab.routers ?? []).map((r) => r.name)];
}

/** Resolve `node` of a recorded lab; `remotes` are the SSH specs the state recorded. */
export function nodeTarget(lab: Lab, node: string, remotes: readonly SshSpec[] = []): NodeTarget {
  const n = nodeOf(lab, node);
  if (!n) throw new UsageError(`lab "${lab.name}" has no node "${node}"; its nodes: ${nodeNames(lab).join(', ')}`);
  // The check context already knows each node's namespace and main interface: the same rules as the checks.
  const ep = contextFromLab(lab, null as never).endpoint(node);
  const host = lab.hosts.find((h) => h.name === n.host);
  const ssh = host?.placement.kind === 'ssh' ? sshSpecFor(host.name, host.placement.target, remotes) : undefined;
  return { name: node, kind: n.kind, host: n.host, ...(ep.ns ? { ns: ep.ns } : {}), ...(ep.ifname ? { ifname: ep.ifname } : {}), ...(ssh ? { ssh } : {}) };
}

function sshSpecFor(host: string, target: string, remotes: readonly SshSpec[]): SshSpec {
  return remotes.find((r) => r.host === host) ?? { host, target };
}

export interface Invocation {
  argv: string[];
  /** Extra environment for the local process (OVS tools: their run directory). */
  env?: Record<string, string>;
}

/**
 * The local argv that runs `argv` on the node: `ip netns exec NS …` here, or `ssh … HOST 'sudo …'`
 * (root on the remote side when the login user is not root, like the SSH executor). `tty` asks
 * ssh for a terminal (interactive shells); `env` is passed on the remote side through env(1).
 */
export function invocation(t: NodeTarget, argv: readonly string[], o: { tty?: boolean; env?: Record<string, string> } = {}): Invocation {
  if (!argv.length) throw new UsageError('no command given: put it after "--", e.g. `-- ip addr`');
  if (!t.ssh) return { argv: inNetns(t.ns, argv), ...(o.env ? { env: o.env } : {}) };
  const s = t.ssh;
  const envArgs = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const inner = [...(t.ns ? ['ip', 'netns', 'exec', t.ns] : []), ...(envArgs.length ? ['env', ...envArgs] : []), ...argv];
  const remote =
    s.privilege === 'none'
      ? inner
      : s.privilege === 'sudo'
        ? ['sudo', '-n', '--', ...inner]
        : ['sh', '-c', 'if [ "$(id -u)" = 0 ]; then exec "$@"; else exec sudo -n -- "$@"; fi', 'sh', ...inner];
  const local = [
    'ssh',
    ...commonOptions(s),
    ...jumpOptions(s),
    ...(s.port ? ['-p', String(s.port)] : []),
    o.tty ? '-t' : '-T',
    '--',
    s.target,
    remoteCommand(remote),
  ];
  return { argv: s.clientNetns ? inNetns(s.clientNetns, local) : local };
}

/** The shell to start on a node: $SHELL's name when it is a common one, else bash. */
export function shellArgv(envShell = process.env.SHELL): string[] {
  const sh = envShell?.split('/').pop();
  return [sh && /^(bash|zsh|sh|dash|ash|fish|ksh)$/.test(sh) ? sh : 'bash', '-i'];
}

export type OvsTool = 'vsctl' | 'ofctl' | 'appctl' | 'dpctl';
export const OVS_TOOLS: readonly OvsTool[] = ['vsctl', 'ofctl', 'appctl', 'dpctl'];

/**
 * An OVS tool against the instance of the switch's host: the lab's own ovsdb-server and
 * ovs-vswitchd (their sockets under the state directory's run/), or the machine's service on an
 * SSH host. `dpctl X` is `ovs-appctl dpctl/X` (the userspace datapath has no ovs-dpctl).
 */
export function ovsInvocation(lab: Lab, node: string, tool: string, args: readonly string[], runRoot: string, remotes: readonly SshSpec[] = []): Invocation {
  if (!OVS_TOOLS.includes(tool as OvsTool)) throw new UsageError(`"${tool}" is not an OVS tool here; use one of: ${OVS_TOOLS.join(', ')} (e.g. \`-- vsctl show\`)`);
  const t = nodeTarget(lab, node, remotes);
  const sw = lab.switches.find((s) => s.name === node);
  if (sw && sw.kind !== 'ovs') throw new UsageError(`switch "${node}" is a Linux bridge, not an OVS switch; use \`geneve-lab exec ${lab.name} ${node} -- bridge link\``);
  if (t.kind !== 'switch' && t.kind !== 'host') throw new UsageError(`"${node}" is a ${t.kind}; give an OVS switch (or its host) of lab "${lab.name}"`);
  if (!hostUsesOvs(lab, t.host)) throw new UsageError(`host "${t.host}" runs no OVS in lab "${lab.name}"; its OVS switches: ${lab.switches.filter((s) => s.kind === 'ovs').map((s) => s.name).join(', ') || 'none'}`);
  const loc = ovsLocation(lab, t.host, runRoot);
  const argv =
    tool === 'vsctl'
      ? ['ovs-vsctl', `--db=unix:${loc.dbSocket}`, ...args]
      : tool === 'ofctl'
        ? ['ovs-ofctl', ...ofctlVersionForArgs(lab.switches, args), ...args]
        : ['ovs-appctl', ...(loc.vswitchdCtl ? ['-t', loc.vswitchdCtl] : []), ...(tool === 'dpctl' ? (args.length ? [`dpctl/${args[0]}`, ...args.slice(1)] : ['dpctl/show']) : args)];
  if (tool !== 'dpctl' && !args.length) throw new UsageError(`ovs-${tool} needs arguments, e.g. \`-- ${tool} ${tool === 'vsctl' ? 'show' : tool === 'ofctl' ? `dump-flows ${sw?.ifname ?? 'BRIDGE'}` : 'list-commands'}\``);
  // The tools find the bridges' management sockets (ovs-ofctl BRIDGE) through OVS_RUNDIR.
  return invocation(t, argv, { env: loc.env });
}
