/**
 * The exact argv of every OVN daemon and client the lab runs: one source for execution
 * (lib/ovn/daemons.ts, runner.ts) and for `plan --format sh`. Pure.
 */
import { inNetns } from '../exec/executor.js';
import type { OvnOp } from './ops.js';
import { ovnCentralPaths, ovnControllerPaths, OVN_SCHEMA_DIR, type OvnCentralPaths } from './paths.js';

export const NB_PORT = 6641;
export const SB_PORT = 6642;

/** How the engine's clients reach the databases: always the unix sockets (any namespace). */
export const nbRemote = (p: OvnCentralPaths) => `unix:${p.nbSocket}`;
export const sbRemote = (p: OvnCentralPaths) => `unix:${p.sbSocket}`;

/** The SB remote a chassis uses: TCP on the central's underlay address, else the unix socket. */
export function chassisSbRemote(centralRunDir: string, listen?: string): string {
  if (!listen) return sbRemote(ovnCentralPaths(centralRunDir));
  return `tcp:${listen.includes(':') ? `[${listen}]` : listen}:${SB_PORT}`;
}

function ovsdbServer(db: string, socket: string, pid: string, ctl: string, log: string, tcp?: string): string[] {
  return ['ovsdb-server', db, `--remote=punix:${socket}`, ...(tcp ? [`--remote=${tcp}`] : []), `--pidfile=${pid}`, `--unixctl=${ctl}`, `--log-file=${log}`, '--no-chdir', '--detach'];
}

const ptcp = (port: number, listen?: string) => (listen ? `ptcp:${port}:${listen.includes(':') ? `[${listen}]` : listen}` : undefined);

/** Steps of ovn.central.start, in order (each argv is one process). */
export function centralStartArgv(runDir: string, ns: string, listen?: string): { what: string; argv: string[] }[] {
  const p = ovnCentralPaths(runDir);
  return [
    { what: 'creating the run directory', argv: ['mkdir', '-p', runDir] },
    { what: 'marking the run directory as the lab\'s', argv: ['touch', p.marker] },
    { what: 'creating the NB database', argv: ['ovsdb-tool', 'create', p.nbDb, `${OVN_SCHEMA_DIR}/ovn-nb.ovsschema`] },
    { what: 'creating the SB database', argv: ['ovsdb-tool', 'create', p.sbDb, `${OVN_SCHEMA_DIR}/ovn-sb.ovsschema`] },
    { what: 'starting the NB ovsdb-server', argv: inNetns(ns, ovsdbServer(p.nbDb, p.nbSocket, p.nbPid, p.nbCtl, p.nbLog, ptcp(NB_PORT, listen))) },
    { what: 'starting the SB ovsdb-server', argv: inNetns(ns, ovsdbServer(p.sbDb, p.sbSocket, p.sbPid, p.sbCtl, p.sbLog, ptcp(SB_PORT, listen))) },
    {
      what: 'starting ovn-northd',
      argv: inNetns(ns, ['ovn-northd', `--ovnnb-db=${nbRemote(p)}`, `--ovnsb-db=${sbRemote(p)}`, `--pidfile=${p.northdPid}`, `--unixctl=${p.northdCtl}`, `--log-file=${p.northdLog}`, '--no-chdir', '--detach']),
    },
  ];
}

export function controllerStartArgv(runDir: string, ns: string, ovsDbSocket: string): { what: string; argv: string[] }[] {
  const p = ovnControllerPaths(runDir);
  return [
    { what: 'creating the run directory', argv: ['mkdir', '-p', runDir] },
    { what: 'marking the run directory as the lab\'s', argv: ['touch', p.marker] },
    { what: 'starting ovn-controller', argv: inNetns(ns, ['ovn-controller', `unix:${ovsDbSocket}`, `--pidfile=${p.pid}`, `--log-file=${p.log}`, '--no-chdir', '--detach']) },
  ];
}

/** ovn-nbctl argv for one transaction (commands joined with `--`). */
export function nbctlArgv(centralRunDir: string, cmds: readonly (readonly string[])[], opts: { timeoutS?: number; wait?: 'hv' | 'sb' } = {}): string[] {
  const p = ovnCentralPaths(centralRunDir);
  const joined: string[] = [];
  for (const c of cmds) {
    if (!c.length) continue;
    if (joined.length) joined.push('--');
    joined.push(...c);
  }
  return ['ovn-nbctl', `--db=${nbRemote(p)}`, `--timeout=${opts.timeoutS ?? 10}`, ...(opts.wait ? [`--wait=${opts.wait}`] : []), ...joined];
}

export function sbctlArgv(centralRunDir: string, args: readonly string[], timeoutS = 10): string[] {
  return ['ovn-sbctl', `--db=${sbRemote(ovnCentralPaths(centralRunDir))}`, `--timeout=${timeoutS}`, ...args];
}

export function traceArgv(centralRunDir: string, args: readonly string[]): string[] {
  return ['ovn-trace', `--db=${sbRemote(ovnCentralPaths(centralRunDir))}`, ...args];
}

/** What each OVN plan operation runs, for `plan --format sh` (ns "" = where the engine runs). */
export function ovnOpArgv(op: OvnOp): { ns: string; argv: string[] }[] {
  switch (op.op) {
    case 'ovn.central.start':
      return centralStartArgv(op.runDir, op.ns, op.listen).map((s) => ({ ns: '', argv: s.argv }));
    case 'ovn.central.stop': {
      const p = ovnCentralPaths(op.runDir);
      return [
        { ns: '', argv: ['ovn-appctl', '--timeout=10', '-t', p.northdCtl, 'exit'] },
        { ns: '', argv: ['ovs-appctl', '--timeout=10', '-t', p.nbCtl, 'exit'] },
        { ns: '', argv: ['ovs-appctl', '--timeout=10', '-t', p.sbCtl, 'exit'] },
        { ns: '', argv: ['rm', '-rf', '--', op.runDir] },
      ];
    }
    case 'ovn.controller.start':
      return controllerStartArgv(op.runDir, op.ns, `${op.ovsRunDir}/db.sock`).map((s) => ({ ns: '', argv: s.argv }));
    case 'ovn.controller.stop': {
      const p = ovnControllerPaths(op.runDir);
      return [
        // The unixctl socket is named after the pid: `ovn-appctl` finds it through the pidfile.
        { ns: '', argv: ['env', `OVN_RUNDIR=${op.runDir}`, 'ovn-appctl', '--timeout=10', '-t', 'ovn-controller', 'exit'] },
        { ns: '', argv: ['rm', '-rf', '--', p.runDir] },
      ];
    }
    case 'ovn.nbctl':
      return [{ ns: '', argv: nbctlArgv(op.runDir, op.cmds) }];
    case 'ovn.ready':
      return [
        ...op.chassis.map((c) => ({ ns: '', argv: sbctlArgv(op.runDir, ['wait-until', 'Chassis', c], Math.ceil(op.timeoutMs / 1000)) })),
        ...op.ports.map((port) => ({ ns: '', argv: sbctlArgv(op.runDir, ['wait-until', 'Port_Binding', port, 'up=true'], Math.ceil(op.timeoutMs / 1000)) })),
        // (polled until each lists a port with an ofport for every other chassis' address)
        ...op.mesh.map((m) => ({ ns: '', argv: ['ovs-vsctl', `--db=unix:${m.ovsRunDir}/db.sock`, '--columns=ofport,options', 'find', 'Interface', 'type=geneve'] })),
        { ns: '', argv: nbctlArgv(op.runDir, [['sync']], { wait: 'hv', timeoutS: Math.ceil(op.timeoutMs / 1000) }) },
        // (repeated until vswitchd's tunnel/neighbour cache lists every other chassis)
        ...op.neighbours.flatMap((n) =>
          n.addresses.flatMap((a) => [
            { ns: n.ns, argv: ['ip', 'neigh', 'flush', 'to', a] },
            { ns: n.ns, argv: ['ping', '-c', '1', '-W', '1', a] },
          ]),
        ),
        ...op.neighbours.map((n) => ({ ns: '', argv: ['ovs-appctl', '-t', `${n.ovsRunDir}/ovs-vswitchd.ctl`, 'tnl/neigh/show'] })),
      ];
  }
}
