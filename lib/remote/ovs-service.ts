/**
 * Open vSwitch on SSH hosts: the lab uses the machine's running OVS service, never daemons of its
 * own, and touches only bridges and ports tagged as its own (external_ids:geneve-lab).
 *
 * Before anything changes on any host, every SSH host whose switches or tunnel ends use OVS is
 * checked here: the service answers (database and ovs-vswitchd), the datapath is settled (`auto`:
 * `system` where the openvswitch module exists on that machine, else `netdev`), the userspace
 * datapath finds native tunnelling already set up by the machine's admin, and none of the lab's
 * bridge/port names is taken by someone else's object. All problems of all hosts are reported
 * together (PrerequisiteError, exit 3).
 *
 * Why native tunnelling is a precondition and not something the lab sets up: on the userspace
 * datapath the underlay NIC must sit in an OVS bridge that owns the machine's address. Moving a
 * remote machine's address and NIC is exactly what can cut the SSH connection the lab runs over
 * (and would disturb everything else on the machine), so the lab refuses and says what the
 * admin must do instead.
 */
import { OpError, PrerequisiteError, type OpFailure } from '../errors.js';
import type { Executor, RunResult } from '../exec/executor.js';
import type { Host, Lab } from '../model/types.js';
import { labTag } from '../model/names.js';
import { chooseDatapath, probeDatapath, type Datapath } from '../ovs/datapath.js';
import { asMap, parseOvsdbTable } from '../ovs/ovsdb-json.js';
import { ovsEnv } from '../ovs/paths.js';
import { OWNER_KEY } from '../ovs/vsctl.js';
import { OvsInstance } from '../ovs/instance.js';
import type { OvsStatus } from '../ovs/status.js';
import type { Step } from '../plan/ops.js';
import { DEFAULT_OVS_DB, hostUsesOvs } from '../plan/ovs.js';

export interface OvsService {
  /** Database socket path (without `unix:`). */
  db: string;
  /** The service's run directory (vswitchd's pidfile/unixctl, bridges' .mgmt sockets): the socket's directory. */
  runDir: string;
}

export function ovsServiceOf(h: Host): OvsService {
  const db = (h.ovs?.db ?? DEFAULT_OVS_DB).replace(/^unix:/, '');
  return { db, runDir: db.slice(0, db.lastIndexOf('/')) || '/' };
}

/** ovs-* tool argv and options against a host's service. */
export function serviceTool(svc: OvsService, tool: 'ovs-vsctl' | 'ovs-appctl', args: string[], timeoutSec = 5): { argv: string[]; env: Record<string, string> } {
  const argv = tool === 'ovs-vsctl' ? [tool, `--db=unix:${svc.db}`, `--timeout=${timeoutSec}`, ...args] : [tool, `--timeout=${timeoutSec}`, ...args];
  return { argv, env: ovsEnv(svc.runDir) };
}

interface Problem {
  feature: string;
  fix: string;
}

export interface PreparedHost {
  host: string;
  datapath: Datapath;
  /** network → the NIC under the admin's underlay bridge (where tunnel packets are seen on the wire). */
  wire: Record<string, string>;
}

const INSTALL = 'install Open vSwitch there (Debian/Ubuntu: apt-get install openvswitch-switch; Fedora/RHEL: dnf install openvswitch) and start it (systemctl enable --now openvswitch-switch, or openvswitch on Fedora)';

function notInstalled(r: RunResult): boolean {
  return r.exitCode === 127 || r.spawnError === 'ENOENT' || /command not found|not found/.test(r.stderr) && !/database|socket/i.test(r.stderr);
}

const firstLine = (s: string) => s.trim().split('\n')[0]!.replace(/^ovs-(vsctl|appctl): /, '');

/**
 * Budget of one OVS tool call over SSH. The tools' own --timeout (5 s) bounds a service that
 * hangs; this one only bounds a stuck connection, so it must leave room for the round trip and a
 * process start on a slow machine (an emulated VM took over 10 s for the first call).
 */
const SSH_CALL_MS = 30_000;

/** Why a tool call failed, in the tool's words; our own timeout said as such (not "exit -1"). */
const failureOf = (r: RunResult) =>
  r.timedOut ? `no reply within ${SSH_CALL_MS / 1000} s over SSH` : firstLine(r.stderr) || `exit ${r.exitCode}`;

/** Check one SSH host's OVS service; problems are pushed, the settled datapath returned. */
async function checkHost(lab: Lab, h: Host, ex: Executor, problems: Problem[]): Promise<PreparedHost | undefined> {
  const at = `host "${h.name}"`;
  const svc = ovsServiceOf(h);
  const run = (tool: 'ovs-vsctl' | 'ovs-appctl', args: string[]) => {
    const { argv, env } = serviceTool(svc, tool, args);
    return ex.run(argv, { env, timeoutMs: SSH_CALL_MS });
  };
  const version = await run('ovs-vsctl', ['get', 'Open_vSwitch', '.', 'ovs_version']);
  if (version.exitCode !== 0) {
    if (notInstalled(version)) problems.push({ feature: `${at}: Open vSwitch is not installed (ovs-vsctl not found)`, fix: INSTALL });
    else
      problems.push({
        feature: `${at}: the Open vSwitch database at unix:${svc.db} does not answer (${failureOf(version)})`,
        fix: `start the OVS service there (systemctl start openvswitch-switch), or, if it listens elsewhere, name its socket on the host in the recipe: ovs: { db: unix:/path/to/db.sock }`,
      });
    return undefined;
  }
  const vswitchd = await run('ovs-appctl', ['-t', 'ovs-vswitchd', 'version']);
  if (vswitchd.exitCode !== 0) {
    problems.push({
      feature: `${at}: ovs-vswitchd is not running (ovs-appctl in ${svc.runDir}: ${failureOf(vswitchd)})`,
      fix: `start the OVS service there (systemctl restart openvswitch-switch); its database answers but the switch daemon does not`,
    });
    return undefined;
  }

  const requested = h.ovs?.datapath ?? 'auto';
  const probe = await probeDatapath(ex);
  const datapath = chooseDatapath(requested, probe).datapath;
  const usedDatapaths = new Set<Datapath>(lab.switches.filter((s) => s.host === h.name && s.kind === 'ovs').map((s) => s.datapath ?? datapath));
  if (usedDatapaths.has('system') && !probe.moduleLoaded && !probe.moduleLoadable)
    problems.push({
      feature: `${at}: the OVS kernel datapath (system) is requested but the openvswitch kernel module is not available on that machine`,
      fix: 'install the kernel modules there (linux-modules-extra / linux-image with openvswitch), or use ovs: { datapath: netdev } with native tunnelling set up by the admin (docs/recipes.md)',
    });

  const wire: Record<string, string> = {};
  if (usedDatapaths.has('netdev')) {
    for (const i of h.interfaces) {
      const nt = await nativeTunnelNic(i.ifname, run);
      if (typeof nt === 'string') wire[i.network] = nt;
      else
        problems.push({
          feature: `${at}: the OVS userspace datapath (netdev) needs native tunnelling, and the underlay address ${i.addresses[0]?.split('/')[0]} is on "${i.ifname}", ${nt.why}`,
          fix:
            `the machine's admin must put the underlay NIC into an OVS bridge of datapath_type=netdev that owns that address ` +
            `(ovs-vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy NIC; move the address from NIC to br-phy). ` +
            `geneve-lab never moves a remote machine's address or NIC (that could cut the SSH connection). ` +
            `Or use the kernel datapath (openvswitch module) with ovs: { datapath: system }`,
        });
    }
  }

  await nameClashes(lab, h, run, problems);
  return { host: h.name, datapath, wire };
}

/** The NIC in the admin's netdev bridge named `ifname`, or why `ifname` is not such a bridge. */
async function nativeTunnelNic(ifname: string, run: (tool: 'ovs-vsctl', args: string[]) => Promise<RunResult>): Promise<string | { why: string }> {
  const br = await run('ovs-vsctl', ['--format=json', '--data=json', '--columns=name,datapath_type', 'find', 'Bridge', `name=${JSON.stringify(ifname)}`]);
  const row = br.exitCode === 0 ? parseOvsdbTable(br.stdout)[0] : undefined;
  if (!row) return { why: 'which is not an OVS bridge' };
  if (row.datapath_type !== 'netdev') return { why: `an OVS bridge of datapath_type "${String(row.datapath_type) || 'system'}", not netdev` };
  const ports = await run('ovs-vsctl', ['list-ports', ifname]);
  const names = new Set(ports.stdout.split('\n').filter(Boolean));
  // Every interface's type in one call (each call is an SSH round trip), not one `get` per port.
  const types = await run('ovs-vsctl', ['--format=json', '--data=json', '--columns=name,type', 'list', 'Interface']);
  const rows = types.exitCode === 0 ? parseOvsdbTable(types.stdout) : [];
  const nics = rows.filter((r) => names.has(String(r.name)) && ['', 'system', 'afxdp', 'dpdk'].includes(String(r.type))).map((r) => String(r.name));
  if (nics.length === 0) return { why: 'an OVS netdev bridge without a NIC in it' };
  return nics[0]!;
}

/**
 * The lab's bridges and ports on this host must not exist as someone else's objects: `--may-exist`
 * would otherwise adopt (and re-tag, and later delete) a bridge the machine's owner made. A
 * leftover of this very lab (tagged with its full tag, state directory's scope included) is left
 * to `up`'s recreate / `down` / `gc`; the same lab name run from another state directory (another
 * user, a test) is someone else.
 */
async function nameClashes(lab: Lab, h: Host, run: (tool: 'ovs-vsctl', args: string[]) => Promise<RunResult>, problems: Problem[]): Promise<void> {
  const ours = (ids: Record<string, string>) => ids[OWNER_KEY] === lab.tag;
  const bridges = lab.switches.filter((s) => s.host === h.name && s.kind === 'ovs').map((s) => s.ifname);
  const ovsSwitches = new Set(lab.switches.filter((s) => s.host === h.name && s.kind === 'ovs').map((s) => s.name));
  const ports = [
    ...lab.guests.filter((g) => ovsSwitches.has(g.switch)).map((g) => g.peerIfname),
    ...lab.tunnels.flatMap((t) => t.ends.filter((e) => e.host === h.name && e.impl === 'ovs').map((e) => e.ifname)),
  ];
  for (const [table, names] of [['Bridge', bridges], ['Port', ports]] as const) {
    const r = await run('ovs-vsctl', ['--format=json', '--data=json', '--columns=name,external_ids', 'list', table]);
    if (r.exitCode !== 0) continue;
    for (const row of parseOvsdbTable(r.stdout)) {
      const name = String(row.name);
      const ids = asMap(row.external_ids);
      if (!names.includes(name) || ours(ids)) continue;
      const owner = ids[OWNER_KEY];
      const sameNameElsewhere = owner === labTag(lab.name) || (owner?.startsWith(`${labTag(lab.name)}@`) ?? false);
      if (sameNameElsewhere) {
        problems.push({
          feature: `host "${h.name}": OVS ${table.toLowerCase()} "${name}" belongs to a lab "${lab.name}" kept in another state directory (tag ${owner}; this one is ${lab.tag})`,
          fix: `bring that lab down from its own state directory (geneve-lab --state-dir DIR down ${lab.name}), or give this lab another name`,
        });
        continue;
      }
      problems.push({
        feature: `host "${h.name}": OVS ${table.toLowerCase()} "${name}" already exists and is not lab "${lab.name}"'s (its external_ids:${OWNER_KEY} is ${owner === undefined ? 'not set' : owner})`,
        fix: 'the lab never adopts or deletes objects it did not create: rename the lab (its bridge and port names carry its name), or remove that object yourself',
      });
    }
  }
}

/**
 * Check every SSH host that uses OVS (in parallel) and return the lab with their datapaths
 * settled and capture checks on an underlay network moved to the NIC under the admin's bridge
 * (native tunnelling sends the tunnels' packets straight out of that NIC, never through the
 * bridge's own port). Throws one PrerequisiteError naming every problem on every host.
 */
export async function prepareOvsHosts(lab: Lab, execOf: (host: string) => Executor | undefined): Promise<Lab> {
  const hosts = lab.hosts.filter((h) => h.placement.kind === 'ssh' && hostUsesOvs(lab, h.name));
  if (!hosts.length) return lab;
  const problems: Problem[] = [];
  const perHost = await Promise.all(
    hosts.map(async (h) => {
      const ex = execOf(h.name);
      if (!ex) throw new Error(`internal: no SSH connection to host "${h.name}"`);
      const mine: Problem[] = [];
      const r = await checkHost(lab, h, ex, mine);
      return { r, mine };
    }),
  );
  for (const { mine } of perHost) problems.push(...mine);
  if (problems.length) throw new PrerequisiteError(problems);
  const prepared = new Map(perHost.map(({ r }) => [r!.host, r!]));
  const hostsOut = lab.hosts.map((h) => {
    const p = prepared.get(h.name);
    return p ? { ...h, ovs: { ...(h.ovs ?? {}), datapath: p.datapath } } : h;
  });
  const checks = lab.checks.map((c) => {
    if (c.kind !== 'capture') return c;
    const p = prepared.get(c.host);
    const h = lab.hosts.find((x) => x.name === c.host);
    const i = h?.interfaces.find((x) => x.ifname === c.ifname);
    const nic = p && i ? p.wire[i.network] : undefined;
    return nic ? { ...c, ifname: nic } : c;
  });
  return { ...lab, hosts: hostsOut, checks };
}

/**
 * `status` for the SSH hosts of a recorded lab: per host whose steps used its OVS service, the
 * bridges tagged as the lab's (with ports, interfaces, options, errors) and the service's tunnel
 * listeners. The machine owner's own bridges are not the lab's business and are not listed.
 */
export async function sshOvsStatus(
  steps: readonly Step[],
  execOf: (host: string) => Executor | undefined,
): Promise<{ host: string; ns: string; status?: OvsStatus; error?: string }[]> {
  const seen = sshOvsTargets(steps);
  const out: { host: string; ns: string; status?: OvsStatus; error?: string }[] = [];
  for (const [host, t] of seen) {
    const ex = execOf(host);
    if (!ex) {
      out.push({ host, ns: '', error: `host "${host}" is not reachable over SSH` });
      continue;
    }
    const inst = new OvsInstance({ dbSocket: t.db, runDir: t.runDir }, { exec: ex, lab: t.lab, label: `OVS on host "${host}"`, timeoutSec: 3 });
    try {
      const st = await inst.status();
      out.push({ host, ns: '', status: { ...st, bridges: st.bridges.filter((b) => b.lab === t.lab) } });
    } catch (e) {
      out.push({ host, ns: '', error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
    }
  }
  return out;
}

/** The SSH hosts whose OVS service a recorded lab used, with the service and the lab's tag there. */
function sshOvsTargets(steps: readonly Step[]): Map<string, { db: string; runDir: string; lab: string }> {
  const seen = new Map<string, { db: string; runDir: string; lab: string }>();
  for (const s of steps)
    if ((s.op.op === 'ovs.cmds' || s.op.op === 'ovs.tunnel') && s.op.db && s.host && !seen.has(s.host))
      seen.set(s.host, { db: s.op.db, runDir: s.op.runDir, lab: s.op.lab });
  return seen;
}

/**
 * After the undo steps of down/rollback/gc: anything still tagged with the lab's tag in the SSH
 * hosts' OVS services goes too (a bridge or port whose step was cut off by a crash before it was
 * journaled as done). Untagged objects and other labs' are never touched. Returns the failures.
 */
export async function sweepSshOvs(steps: readonly Step[], execOf: (host: string) => Executor | undefined): Promise<{ removed: string[]; failures: OpFailure[] }> {
  const removed: string[] = [];
  const failures: OpFailure[] = [];
  for (const [host, t] of sshOvsTargets(steps)) {
    const ex = execOf(host);
    if (!ex) continue;
    const inst = new OvsInstance({ dbSocket: t.db, runDir: t.runDir }, { exec: ex, lab: t.lab, label: `OVS on host "${host}"`, timeoutSec: 5 });
    try {
      const r = await inst.removeLabObjects();
      removed.push(...[...r.bridges, ...r.ports].map((n) => `${host}:${n}`));
    } catch (e) {
      failures.push(e instanceof OpError ? { ...e.failure, host } : { subject: `OVS on host "${host}"`, host, request: 'remove the lab\'s bridges and ports', kernelMessage: (e as Error).message });
    }
  }
  return { removed, failures };
}
