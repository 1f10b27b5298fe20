/**
 * Lifecycle of OVS daemons that a lab starts for a simulated host: ovsdb-server and
 * ovs-vswitchd run INSIDE the host's namespace (so vswitchd's taps and packet sockets live
 * there), with their own database, sockets, pidfiles, unixctl paths and logs under runDir.
 * `findOvsDaemons` lets gc stop the daemons of a crashed lab from their pidfiles.
 */
import { inNetns, type Executor } from '../exec/executor.js';
import { OpError, PrerequisiteError } from '../errors.js';
import { commandFailed } from './errors.js';
import { OvsInstance, type OvsInstanceOptions } from './instance.js';
import { ovsEnv, ovsPaths, RUNDIR_MARKER, type OvsPaths } from './paths.js';

export interface StartOvsOptions {
  exec: Executor;
  /** Namespace of the simulated host; undefined = root namespace (not recommended). */
  ns?: string;
  /** Absolute directory for this instance only; created, and removed again by stop(). Keep it short (unix socket paths ≤ 107 bytes). */
  runDir: string;
  /** Lab name used as external_ids:geneve-lab on everything created through the instance. */
  tag: string;
  label?: string;
  /** How long to wait for the daemons to answer. */
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Daemons started by the lab; stop() ends them and removes runDir. */
export class OwnedOvs extends OvsInstance {
  readonly paths: OvsPaths;
  constructor(paths: OvsPaths, o: OvsInstanceOptions) {
    super({ dbSocket: paths.dbSocket, vswitchdCtl: paths.vswitchdCtl, runDir: paths.runDir, vswitchdLog: paths.vswitchdLog }, o);
    this.paths = paths;
  }

  /**
   * Graceful exit (vswitchd `exit --cleanup` removes its datapath and taps; ovsdb-server `exit`),
   * then SIGTERM, then SIGKILL for whatever still runs; finally runDir (with pidfiles) is removed.
   */
  override async stop(): Promise<void> {
    await stopDaemons(this.exec, this.paths, this.timeoutSec);
  }
}

async function run(exec: Executor, subject: string, argv: string[], runDir: string, ns?: string, timeoutMs = 15000) {
  const r = await exec.run(argv, { env: ovsEnv(runDir), timeoutMs });
  if (r.spawnError === 'ENOENT')
    throw new PrerequisiteError([{ feature: `Open vSwitch (${argv[0]})`, fix: 'apt-get install openvswitch-switch (the service itself need not run)' }]);
  if (r.exitCode !== 0) throw commandFailed(subject, r, ns);
  return r;
}

export async function startOvs(o: StartOvsOptions): Promise<OwnedOvs> {
  if (!o.runDir.startsWith('/')) throw new OpError({ subject: 'OVS run directory', request: o.runDir, kernelMessage: 'must be an absolute path' });
  const p = ovsPaths(o.runDir);
  if (p.vswitchdCtl.length > 107)
    throw new OpError({ subject: 'OVS run directory', request: o.runDir, kernelMessage: `unix socket path ${p.vswitchdCtl} is longer than 107 bytes; use a shorter runDir` });
  const label = o.label ?? (o.ns ? `OVS in netns ${o.ns}` : 'OVS');
  const { exec, ns } = o;

  const existing = await daemonStates(exec, p);
  if (existing.some((d) => d.running))
    throw new OpError({ subject: label, ...(ns ? { ns } : {}), request: `start in ${o.runDir}`, kernelMessage: `OVS daemons from ${o.runDir} are already running (pids ${existing.filter((d) => d.running).map((d) => d.pid).join(', ')})` });

  const inst = new OwnedOvs(p, { exec, lab: o.tag, ...(ns ? { ns } : {}), label });
  try {
    await run(exec, label, ['mkdir', '-p', o.runDir], o.runDir);
    await run(exec, label, ['touch', p.marker], o.runDir);
    await run(exec, `${label}: creating database`, ['ovsdb-tool', 'create', p.db], o.runDir, ns);
    await run(
      exec,
      `${label}: starting ovsdb-server`,
      inNetns(ns, ['ovsdb-server', p.db, `--remote=punix:${p.dbSocket}`, `--pidfile=${p.ovsdbPid}`, `--unixctl=${p.ovsdbCtl}`, `--log-file=${p.ovsdbLog}`, '--no-chdir', '--detach']),
      o.runDir,
      ns,
    );
    await run(exec, `${label}: initialising database`, ['ovs-vsctl', `--db=unix:${p.dbSocket}`, '--timeout=10', '--no-wait', 'init'], o.runDir, ns);
    await run(
      exec,
      `${label}: starting ovs-vswitchd`,
      inNetns(ns, ['ovs-vswitchd', `unix:${p.dbSocket}`, `--pidfile=${p.vswitchdPid}`, `--unixctl=${p.vswitchdCtl}`, `--log-file=${p.vswitchdLog}`, '--no-chdir', '--detach']),
      o.runDir,
      ns,
      30000,
    );
    await waitReady(inst, o.readyTimeoutMs ?? 15000);
    return inst;
  } catch (e) {
    // Leave nothing behind from a half-started instance.
    await stopDaemons(exec, p, 5).catch(() => {});
    if (e instanceof OpError) {
      const log = await exec.run(['tail', '-n', '5', p.vswitchdLog]).catch(() => undefined);
      if (log?.exitCode === 0 && log.stdout.trim()) e.message += `\n    ovs-vswitchd log:\n      ${log.stdout.trim().split('\n').join('\n      ')}`;
    }
    throw e;
  }
}

/** Poll until vswitchd answers on its unixctl socket and has read the database. */
async function waitReady(inst: OwnedOvs, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await inst.exec.run(['ovs-appctl', '--timeout=2', '-t', inst.paths.vswitchdCtl, 'version'], { env: ovsEnv(inst.paths.runDir) });
    if (r.exitCode === 0) {
      // `ovs-vsctl` without --no-wait blocks until vswitchd has applied the database.
      const w = await inst.exec.run(['ovs-vsctl', `--db=unix:${inst.paths.dbSocket}`, '--timeout=5', 'set', 'Open_vSwitch', '.', `external_ids:geneve-lab-instance=${inst.lab}`]);
      if (w.exitCode === 0) return;
      last = w.stderr;
    } else last = r.stderr;
    await sleep(200);
  }
  throw new OpError({ subject: inst.label, ...(inst.ns ? { ns: inst.ns } : {}), request: `ovs-appctl -t ${inst.paths.vswitchdCtl} version`, kernelMessage: `ovs-vswitchd did not answer within ${timeoutMs} ms: ${last.trim()}` });
}

export interface DaemonState {
  name: 'ovsdb-server' | 'ovs-vswitchd';
  pidfile: string;
  pid?: number;
  /** A live (non-zombie) process whose command line names this runDir. */
  running: boolean;
}

async function daemonStates(exec: Executor, p: OvsPaths): Promise<DaemonState[]> {
  const out: DaemonState[] = [];
  for (const [name, pidfile] of [['ovs-vswitchd', p.vswitchdPid], ['ovsdb-server', p.ovsdbPid]] as const) {
    const r = await exec.run(['cat', pidfile]);
    const pid = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
    if (!Number.isInteger(pid) || pid <= 1) {
      out.push({ name, pidfile, running: false });
      continue;
    }
    out.push({ name, pidfile, pid, running: await isOurs(exec, pid, p.runDir) });
  }
  return out;
}

/** The pid is alive, not a zombie, and its argv mentions runDir (guards against pid reuse). */
async function isOurs(exec: Executor, pid: number, runDir: string): Promise<boolean> {
  const stat = await exec.run(['cat', `/proc/${pid}/stat`]);
  if (stat.exitCode !== 0) return false;
  const state = /\)\s+(\S)/.exec(stat.stdout)?.[1];
  if (state === 'Z' || state === 'X') return false;
  const cmd = await exec.run(['cat', `/proc/${pid}/cmdline`]);
  return cmd.exitCode === 0 && cmd.stdout.split('\0').some((a) => a.includes(`${runDir.replace(/\/+$/, '')}/`));
}

async function waitGone(exec: Executor, pids: { pid: number }[], runDir: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive: number[] = [];
    for (const { pid } of pids) if (await isOurs(exec, pid, runDir)) alive.push(pid);
    if (!alive.length || Date.now() >= deadline) return alive;
    await sleep(100);
  }
}

async function stopDaemons(exec: Executor, p: OvsPaths, timeoutSec: number): Promise<void> {
  const states = (await daemonStates(exec, p)).filter((d) => d.running && d.pid) as (DaemonState & { pid: number })[];
  const env = ovsEnv(p.runDir);
  const t = `--timeout=${Math.max(2, Math.min(timeoutSec, 10))}`;
  if (states.some((d) => d.name === 'ovs-vswitchd')) await exec.run(['ovs-appctl', t, '-t', p.vswitchdCtl, 'exit', '--cleanup'], { env, timeoutMs: 15000 });
  if (states.some((d) => d.name === 'ovsdb-server')) await exec.run(['ovs-appctl', t, '-t', p.ovsdbCtl, 'exit'], { env, timeoutMs: 15000 });
  let alive = await waitGone(exec, states, p.runDir, 5000);
  for (const [signal, wait] of [['TERM', 2000], ['KILL', 2000]] as const) {
    if (!alive.length) break;
    for (const pid of alive) await exec.run(['kill', `-${signal}`, String(pid)]);
    alive = await waitGone(exec, alive.map((pid) => ({ pid })), p.runDir, wait);
  }
  if (alive.length)
    throw new OpError({ subject: `OVS daemons in ${p.runDir}`, request: `kill -KILL ${alive.join(' ')}`, kernelMessage: `still running after SIGKILL: pids ${alive.join(', ')}` });
  // Only a directory we created (it carries our marker) is removed.
  const marker = await exec.run(['test', '-e', p.marker]);
  if (marker.exitCode === 0) {
    const rm = await exec.run(['rm', '-rf', '--', p.runDir]);
    if (rm.exitCode !== 0) throw commandFailed(`removing OVS run directory ${p.runDir}`, rm);
  }
}

export interface FoundOvs {
  runDir: string;
  daemons: DaemonState[];
}

/** OVS run directories (ours: they carry the marker) under `root`, with their daemons' state. */
export async function findOvsDaemons(exec: Executor, root: string): Promise<FoundOvs[]> {
  const r = await exec.run(['find', root, '-maxdepth', '4', '-name', RUNDIR_MARKER, '-type', 'f']);
  if (r.exitCode !== 0 && !r.stdout) return [];
  const dirs = r.stdout.split('\n').filter(Boolean).map((f) => f.slice(0, -RUNDIR_MARKER.length - 1));
  const out: FoundOvs[] = [];
  for (const runDir of dirs.sort()) out.push({ runDir, daemons: await daemonStates(exec, ovsPaths(runDir)) });
  return out;
}

/** gc: stop the daemons of a found run directory and remove it (same path as OwnedOvs.stop). */
export async function stopFoundOvs(exec: Executor, found: FoundOvs): Promise<void> {
  await stopDaemons(exec, ovsPaths(found.runDir), 5);
}
