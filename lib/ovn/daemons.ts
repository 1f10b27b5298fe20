/**
 * Lifecycle of the OVN daemons a lab starts: the central (NB and SB ovsdb-servers plus
 * ovn-northd) inside its host's namespace, and one ovn-controller per chassis inside that
 * chassis' namespace. Same ownership rules as the lab's OVS daemons (lib/ovs/daemons.ts):
 * every file under a runDir that carries a marker; a process is the lab's only when its pidfile
 * names it AND its command line names that runDir (pid reuse); stop = graceful exit, then
 * SIGTERM, then SIGKILL, then the directory goes. `findOvnDaemons` lets gc find them by the
 * marker after a crash.
 */
import type { Executor, RunResult } from '../exec/executor.js';
import { OpError, PrerequisiteError } from '../errors.js';
import { commandFailed } from '../ovs/errors.js';
import { centralStartArgv, controllerStartArgv, nbctlArgv, sbctlArgv } from './commands.js';
import { ovnCentralPaths, ovnControllerCtl, ovnControllerPaths, ovnEnv, OVN_RUNDIR_MARKER, OVN_SCHEMA_DIR } from './paths.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DaemonState {
  name: string;
  pidfile: string;
  pid?: number;
  /** A live (non-zombie) process whose command line names the runDir. */
  running: boolean;
}

/** Which daemons a run directory holds, by what its pidfiles say. */
export type OvnDirKind = 'central' | 'controller';

function pidfilesOf(kind: OvnDirKind, runDir: string): [string, string][] {
  if (kind === 'controller') return [['ovn-controller', ovnControllerPaths(runDir).pid]];
  const p = ovnCentralPaths(runDir);
  return [
    ['ovn-northd', p.northdPid],
    ['ovsdb-server (NB)', p.nbPid],
    ['ovsdb-server (SB)', p.sbPid],
  ];
}

async function isOurs(exec: Executor, pid: number, runDir: string): Promise<boolean> {
  const stat = await exec.run(['cat', `/proc/${pid}/stat`]);
  if (stat.exitCode !== 0) return false;
  const state = /\)\s+(\S)/.exec(stat.stdout)?.[1];
  if (state === 'Z' || state === 'X') return false;
  const cmd = await exec.run(['cat', `/proc/${pid}/cmdline`]);
  return cmd.exitCode === 0 && cmd.stdout.split('\0').some((a) => a.includes(`${runDir.replace(/\/+$/, '')}/`));
}

export async function daemonStates(exec: Executor, kind: OvnDirKind, runDir: string): Promise<DaemonState[]> {
  const out: DaemonState[] = [];
  for (const [name, pidfile] of pidfilesOf(kind, runDir)) {
    const r = await exec.run(['cat', pidfile]);
    const pid = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
    if (!Number.isInteger(pid) || pid <= 1) out.push({ name, pidfile, running: false });
    else out.push({ name, pidfile, pid, running: await isOurs(exec, pid, runDir) });
  }
  return out;
}

async function waitGone(exec: Executor, pids: number[], runDir: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive: number[] = [];
    for (const pid of pids) if (await isOurs(exec, pid, runDir)) alive.push(pid);
    if (!alive.length || Date.now() >= deadline) return alive;
    await sleep(100);
  }
}

/**
 * Stop what runs from runDir and remove the directory (only when it carries our marker).
 * `graceful` are the polite exit commands (unixctl `exit`), tried first with a short timeout.
 */
async function stopDir(exec: Executor, kind: OvnDirKind, runDir: string, graceful: string[][], env: Record<string, string>): Promise<void> {
  const states = (await daemonStates(exec, kind, runDir)).filter((d) => d.running && d.pid !== undefined);
  if (states.length) for (const argv of graceful) await exec.run(argv, { env, timeoutMs: 12_000 });
  let alive = await waitGone(
    exec,
    states.map((d) => d.pid!),
    runDir,
    states.length ? 5000 : 0,
  );
  for (const [signal, wait] of [['TERM', 2000], ['KILL', 2000]] as const) {
    if (!alive.length) break;
    for (const pid of alive) await exec.run(['kill', `-${signal}`, String(pid)]);
    alive = await waitGone(exec, alive, runDir, wait);
  }
  if (alive.length)
    throw new OpError({ subject: `OVN daemons in ${runDir}`, request: `kill -KILL ${alive.join(' ')}`, kernelMessage: `still running after SIGKILL: pids ${alive.join(', ')}` });
  const marker = await exec.run(['test', '-e', `${runDir.replace(/\/+$/, '')}/${OVN_RUNDIR_MARKER}`]);
  if (marker.exitCode === 0) {
    const rm = await exec.run(['rm', '-rf', '--', runDir]);
    if (rm.exitCode !== 0) throw commandFailed(`removing OVN run directory ${runDir}`, rm);
  }
}

async function run(exec: Executor, subject: string, argv: string[], env: Record<string, string>, ns?: string, timeoutMs = 15_000): Promise<RunResult> {
  const r = await exec.run(argv, { env, timeoutMs });
  // Not installed: execa cannot spawn it, or `ip netns exec` cannot exec it.
  if (r.spawnError === 'ENOENT' || (r.exitCode !== 0 && /exec of "[^"]+" failed: No such file or directory/.test(r.stderr))) {
    const tool = argv.find((a) => /^(ovn-|ovsdb-)/.test(a)) ?? argv[0];
    throw new PrerequisiteError([{ feature: `OVN (${tool})`, fix: 'apt-get install ovn-central ovn-host (Debian 12: OVN 23.03; the services themselves need not run)' }]);
  }
  if (r.exitCode !== 0) throw commandFailed(subject, r, ns);
  return r;
}

async function tail(exec: Executor, file: string, lines = 5): Promise<string> {
  const r = await exec.run(['tail', '-n', String(lines), file]);
  return r.exitCode === 0 ? r.stdout.trim() : '';
}

async function withLog(e: unknown, exec: Executor, what: string, log: string): Promise<unknown> {
  if (!(e instanceof OpError)) return e;
  const text = await tail(exec, log);
  if (text) e.message += `\n    ${what} log:\n      ${text.split('\n').join('\n      ')}`;
  return e;
}

export interface StartCentralOptions {
  exec: Executor;
  ns: string;
  runDir: string;
  /** Underlay address the NB/SB also listen on (TCP 6641/6642); none = unix sockets only. */
  listen?: string;
  label: string;
  readyTimeoutMs?: number;
}

/** NB, SB and ovn-northd in `ns`; returns once both databases answer and northd is active. */
/** Unix socket paths are at most 107 bytes: refuse a run directory that cannot hold ours. */
function assertShortEnough(label: string, runDir: string, longest: string): void {
  if (`${runDir}/${longest}`.length > 107)
    throw new OpError({ subject: `${label}: run directory`, request: runDir, kernelMessage: `unix socket path ${runDir}/${longest} would be longer than 107 bytes; use a shorter --state-dir` });
}

export async function startCentral(o: StartCentralOptions): Promise<void> {
  const p = ovnCentralPaths(o.runDir);
  assertShortEnough(o.label, o.runDir, 'ovsdb-nb.ctl');
  const env = ovnEnv(o.runDir);
  const existing = await daemonStates(o.exec, 'central', o.runDir);
  if (existing.some((d) => d.running))
    throw new OpError({ subject: o.label, ns: o.ns, request: `start in ${o.runDir}`, kernelMessage: `OVN daemons from ${o.runDir} are already running (pids ${existing.filter((d) => d.running).map((d) => d.pid).join(', ')})` });
  for (const schema of ['ovn-nb', 'ovn-sb'])
    if ((await o.exec.run(['test', '-e', `${OVN_SCHEMA_DIR}/${schema}.ovsschema`])).exitCode !== 0)
      throw new PrerequisiteError([{ feature: `OVN (${OVN_SCHEMA_DIR}/${schema}.ovsschema is missing)`, fix: 'apt-get install ovn-central ovn-host (Debian 12: OVN 23.03; the services themselves need not run)' }]);
  try {
    for (const s of centralStartArgv(o.runDir, o.ns, o.listen)) await run(o.exec, `${o.label}: ${s.what}`, s.argv, env, o.ns);
    await waitCentral(o.exec, o.runDir, o.label, o.ns, o.readyTimeoutMs ?? 15_000);
  } catch (e) {
    await stopCentral(o.exec, o.runDir).catch(() => {});
    throw await withLog(e, o.exec, 'ovn-northd', p.northdLog);
  }
}

async function waitCentral(exec: Executor, runDir: string, label: string, ns: string, timeoutMs: number): Promise<void> {
  const p = ovnCentralPaths(runDir);
  const env = ovnEnv(runDir);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const nb = await exec.run(nbctlArgv(runDir, [['show']], { timeoutS: 2 }), { env });
    const sb = nb.exitCode === 0 ? await exec.run(sbctlArgv(runDir, ['show'], 2), { env }) : nb;
    const northd = sb.exitCode === 0 ? await exec.run(['ovn-appctl', '--timeout=2', '-t', p.northdCtl, 'status'], { env }) : sb;
    if (northd.exitCode === 0 && /active/.test(northd.stdout)) return;
    last = (northd.stderr || northd.stdout).trim();
    await sleep(100);
  }
  throw new OpError({ subject: label, ns, request: 'ovn-nbctl show; ovn-sbctl show; ovn-appctl status', kernelMessage: `the OVN central did not answer within ${timeoutMs} ms: ${last}` });
}

export async function stopCentral(exec: Executor, runDir: string): Promise<void> {
  const p = ovnCentralPaths(runDir);
  await stopDir(
    exec,
    'central',
    runDir,
    [
      ['ovn-appctl', '--timeout=5', '-t', p.northdCtl, 'exit'],
      ['ovs-appctl', '--timeout=5', '-t', p.nbCtl, 'exit'],
      ['ovs-appctl', '--timeout=5', '-t', p.sbCtl, 'exit'],
    ],
    ovnEnv(runDir),
  );
}

export interface StartControllerOptions {
  exec: Executor;
  ns: string;
  runDir: string;
  /** The chassis host's OVS run directory (its db.sock and the bridges' .mgmt sockets). */
  ovsRunDir: string;
  label: string;
}

/** ovn-controller in the chassis' namespace; returns once it answers on its unixctl socket. */
export async function startController(o: StartControllerOptions): Promise<void> {
  const p = ovnControllerPaths(o.runDir);
  assertShortEnough(o.label, o.runDir, 'ovn-controller.4194304.ctl');
  const env = ovnEnv(o.runDir, o.ovsRunDir);
  const existing = await daemonStates(o.exec, 'controller', o.runDir);
  if (existing.some((d) => d.running))
    throw new OpError({ subject: o.label, ns: o.ns, request: `start in ${o.runDir}`, kernelMessage: `ovn-controller from ${o.runDir} is already running (pid ${existing.find((d) => d.running)?.pid})` });
  try {
    for (const s of controllerStartArgv(o.runDir, o.ns, `${o.ovsRunDir}/db.sock`)) await run(o.exec, `${o.label}: ${s.what}`, s.argv, env, o.ns);
    const deadline = Date.now() + 10_000;
    let last = '';
    for (;;) {
      const [st] = await daemonStates(o.exec, 'controller', o.runDir);
      if (st?.running && st.pid) {
        const r = await o.exec.run(['ovn-appctl', '--timeout=2', '-t', ovnControllerCtl(o.runDir, st.pid), 'version'], { env });
        if (r.exitCode === 0) return;
        last = r.stderr.trim();
      } else last = 'no running ovn-controller behind its pidfile';
      if (Date.now() > deadline) throw new OpError({ subject: o.label, ns: o.ns, request: 'ovn-appctl -t ovn-controller version', kernelMessage: `ovn-controller did not answer within 10 s: ${last}` });
      await sleep(100);
    }
  } catch (e) {
    await stopController(o.exec, o.runDir).catch(() => {});
    throw await withLog(e, o.exec, 'ovn-controller', p.log);
  }
}

/**
 * `exit` makes ovn-controller remove its chassis record (and its tunnel ports) while the SB is
 * still there (the plan stops chassis before the central); without the SB it would wait for it,
 * so the polite exit gets a few seconds, then signals.
 */
export async function stopController(exec: Executor, runDir: string): Promise<void> {
  const [st] = await daemonStates(exec, 'controller', runDir);
  const graceful = st?.running && st.pid ? [['ovn-appctl', '--timeout=5', '-t', ovnControllerCtl(runDir, st.pid), 'exit']] : [];
  await stopDir(exec, 'controller', runDir, graceful, ovnEnv(runDir));
}

export interface FoundOvn {
  runDir: string;
  kind: OvnDirKind;
  daemons: DaemonState[];
}

/** OVN run directories (ours: they carry the marker) under `root`, with their daemons' state. */
export async function findOvnDaemons(exec: Executor, root: string): Promise<FoundOvn[]> {
  const r = await exec.run(['find', root, '-maxdepth', '4', '-name', OVN_RUNDIR_MARKER, '-type', 'f']);
  if (r.exitCode !== 0 && !r.stdout) return [];
  const dirs = r.stdout.split('\n').filter(Boolean).map((f) => f.slice(0, -OVN_RUNDIR_MARKER.length - 1));
  const out: FoundOvn[] = [];
  for (const runDir of dirs.sort()) {
    const central = await exec.run(['test', '-e', ovnCentralPaths(runDir).nbDb]);
    const kind: OvnDirKind = central.exitCode === 0 ? 'central' : 'controller';
    out.push({ runDir, kind, daemons: await daemonStates(exec, kind, runDir) });
  }
  return out;
}

/** gc: stop the daemons of a found run directory and remove it (same path as the stop ops). */
export async function stopFoundOvn(exec: Executor, found: FoundOvn): Promise<void> {
  if (found.kind === 'central') await stopCentral(exec, found.runDir);
  else await stopController(exec, found.runDir);
}
