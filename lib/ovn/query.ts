/**
 * Read-only questions to a lab's OVN databases: which sockets (the central's run directory
 * under the lab's run root), which tool, how output is parsed. Used by readiness (lib/ovn/
 * runner.ts), the `ovn` check kind and the capture expectation `ovn: {datapath, ingress, egress}`
 * (lib/checks/ovn*.ts). The clients run where the engine runs and reach the databases through
 * their unix sockets, whatever namespace the central lives in.
 */
import type { Executor, RunResult } from '../exec/executor.js';
import { OpError } from '../errors.js';
import { commandFailed } from '../ovs/errors.js';
import { asOptional, parseOvsdbTable, type OvsdbRow } from '../ovs/ovsdb-json.js';
import type { Lab } from '../model/types.js';
import { nbctlArgv, sbctlArgv, traceArgv } from './commands.js';
import { ovnCentralRunDir, ovnEnv } from './paths.js';

/** Default run root (the default state directory's), used when a caller does not say. */
export const DEFAULT_RUN_ROOT = '/run/geneve-lab/run';

export type OvnTool = 'nbctl' | 'sbctl' | 'trace';

export interface OvnDbTarget {
  exec: Executor;
  /** The central's run directory (NB/SB sockets). */
  runDir: string;
}

export function ovnTarget(lab: Pick<Lab, 'name'>, exec: Executor, runRoot = DEFAULT_RUN_ROOT): OvnDbTarget {
  return { exec, runDir: ovnCentralRunDir(runRoot, lab.name) };
}

/** The argv a query runs (for messages: what was looked at). */
export function queryArgv(t: Pick<OvnDbTarget, 'runDir'>, tool: OvnTool, args: readonly string[]): string[] {
  switch (tool) {
    case 'nbctl':
      return nbctlArgv(t.runDir, [args]);
    case 'sbctl':
      return sbctlArgv(t.runDir, args);
    case 'trace':
      return traceArgv(t.runDir, args);
  }
}

export async function runQuery(t: OvnDbTarget, tool: OvnTool, args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  return t.exec.run(queryArgv(t, tool, args), { env: ovnEnv(t.runDir), timeoutMs });
}

/** `list TABLE` as plain rows; throws an OpError naming the database when the tool fails. */
export async function listRows(t: OvnDbTarget, db: 'nb' | 'sb', table: string, columns?: string[]): Promise<OvsdbRow[]> {
  const args = ['--format=json', '--data=json', ...(columns ? [`--columns=${columns.join(',')}`] : []), 'list', table];
  const r = await runQuery(t, db === 'nb' ? 'nbctl' : 'sbctl', args);
  if (r.exitCode !== 0) throw commandFailed(`reading ${table} from the OVN ${db.toUpperCase()} database`, r);
  return parseOvsdbTable(r.stdout);
}

export interface TunnelKeys {
  /** Logical datapath (switch or router) name → its tunnel key (the Geneve VNI). */
  datapaths: Map<string, number>;
  /** Logical port name → its tunnel key (in the OVN option) and its datapath's name. */
  ports: Map<string, { key: number; datapath: string }>;
}

/** The SB's tunnel keys by name: what `ovn-sbctl get Datapath_Binding NAME tunnel-key` shows. */
export async function tunnelKeys(t: OvnDbTarget): Promise<TunnelKeys> {
  const dps = await listRows(t, 'sb', 'Datapath_Binding', ['_uuid', 'tunnel_key', 'external_ids']);
  const byUuid = new Map<string, string>();
  const datapaths = new Map<string, number>();
  for (const d of dps) {
    const ids = (d.external_ids ?? {}) as Record<string, unknown>;
    const name = String(ids.name ?? ids['name2'] ?? d._uuid);
    byUuid.set(String(d._uuid), name);
    datapaths.set(name, Number(d.tunnel_key));
  }
  const ports = new Map<string, { key: number; datapath: string }>();
  for (const p of await listRows(t, 'sb', 'Port_Binding', ['logical_port', 'tunnel_key', 'datapath']))
    ports.set(String(p.logical_port), { key: Number(p.tunnel_key), datapath: byUuid.get(String(p.datapath)) ?? String(p.datapath) });
  return { datapaths, ports };
}

export interface ControlPlaneState {
  /** Chassis names registered in the SB. */
  chassis: string[];
  /** Logical port → up (true/false), for the ports asked about that have a binding. */
  ports: Map<string, { up: boolean; chassis?: string }>;
}

export async function controlPlaneState(t: OvnDbTarget): Promise<ControlPlaneState> {
  const ch = await listRows(t, 'sb', 'Chassis', ['_uuid', 'name']);
  const names = new Map(ch.map((c) => [String(c._uuid), String(c.name)]));
  const ports = new Map<string, { up: boolean; chassis?: string }>();
  for (const p of await listRows(t, 'sb', 'Port_Binding', ['logical_port', 'up', 'chassis'])) {
    const up = asOptional<boolean>(p.up) === true;
    const c = asOptional<string>(p.chassis);
    ports.set(String(p.logical_port), { up, ...(c ? { chassis: names.get(c) ?? c } : {}) });
  }
  return { chassis: [...names.values()].sort(), ports };
}

/** An OpError for a query that could not be answered (the check is then an error, never a pass). */
export function queryFailed(subject: string, r: RunResult): OpError {
  return commandFailed(subject, r);
}
