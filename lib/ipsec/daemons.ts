/**
 * Lifecycle of one simulated host's IKE daemons: strongSwan's starter and charon, confined to the
 * host's namespace and to its directory (see strongswan.ts, paths.ts), and — for hosts with OVS
 * ports that have a pre-shared key — ovs-monitor-ipsec for the host's own OVS instance. Stopping
 * signals exactly the processes whose pid files are in the directory and that are provably ours
 * (charon's environment names this directory's strongswan.conf; the monitor's command line names
 * the directory), then removes the directory, only when it carries the lab's marker.
 */
import { inNetns, type Executor, type RunResult } from '../exec/executor.js';
import { OpError, PrerequisiteError } from '../errors.js';
import { ipsecPaths, type IpsecPaths } from './paths.js';
import { ovsPaths } from '../ovs/paths.js';
import { ipsecConfTop, ipsecSecretsTop, MONITOR_CONF_INITIAL, strongswanConf, wrapperScript } from './strongswan.js';

export const OVS_MONITOR_IPSEC = '/usr/share/openvswitch/scripts/ovs-monitor-ipsec';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartIpsecOptions {
  exec: Executor;
  ns: string;
  dir: string;
  /** For messages: `IKE daemon on host "box-1"`. */
  label: string;
  /** The host's OVS database socket path: also start ovs-monitor-ipsec for it. */
  ovsDb?: string;
  readyTimeoutMs?: number;
}

function failure(subject: string, ns: string | undefined, r: RunResult, what: string): OpError {
  return new OpError({
    subject,
    ...(ns ? { ns } : {}),
    request: r.argv.join(' '),
    kernelMessage: `${what}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`,
    stderr: r.stderr,
    exitCode: r.exitCode,
  });
}

/**
 * Write a file through the executor (the text on stdin, never in an argv), created 0600 and then
 * given its mode. A fixed shell program with the path as an argument: /dev/stdin, which `install`
 * would need, does not exist everywhere (a bare devtmpfs, as in the VM tier).
 */
export const WRITE_FILE_PROGRAM = 'umask 077 && cat > "$1" && chmod "$2" "$1"';

export async function writeFileVia(exec: Executor, path: string, text: string, mode: string, subject: string): Promise<void> {
  const r = await exec.run(['sh', '-c', WRITE_FILE_PROGRAM, 'sh', path, mode], { input: text });
  if (r.exitCode !== 0) throw failure(subject, undefined, r, `cannot write ${path}`);
}

async function must(exec: Executor, argv: string[], subject: string, ns?: string, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await exec.run(argv, { timeoutMs: opts.timeoutMs ?? 30_000, ...(opts.env ? { env: opts.env } : {}) });
  if (r.spawnError === 'ENOENT') throw new PrerequisiteError([{ feature: `IPsec (${argv[0]})`, fix: 'apt-get install strongswan openvswitch-ipsec libstrongswan-standard-plugins (the services themselves need not run)' }]);
  if (r.exitCode !== 0) throw failure(subject, ns, r, r.timedOut ? 'timed out' : `exit ${r.exitCode}`);
  return r;
}

/** The tail of a log, for error messages (never the secrets file). */
export async function logTail(exec: Executor, file: string, lines = 6): Promise<string> {
  const r = await exec.run(['tail', '-n', String(lines), file]);
  return r.exitCode === 0 ? r.stdout.trim() : '';
}

/** `ipsec` of this host inside its namespace: argv prefix. */
export function ipsecCmd(p: IpsecPaths, ns: string): string[] {
  return inNetns(ns, [p.wrapper]);
}

export async function startIpsec(o: StartIpsecOptions): Promise<void> {
  const { exec, ns, label } = o;
  const p = ipsecPaths(o.dir);
  if ((await runningDaemons(exec, p)).length)
    throw new OpError({ subject: label, ns, request: `start in ${o.dir}`, kernelMessage: `strongSwan or ovs-monitor-ipsec from ${o.dir} is already running` });
  for (const bin of ['/usr/lib/ipsec/starter', '/usr/lib/ipsec/charon', '/usr/sbin/ipsec', ...(o.ovsDb ? [OVS_MONITOR_IPSEC] : [])])
    if ((await exec.run(['test', '-x', bin])).exitCode !== 0)
      throw new PrerequisiteError([
        {
          feature: `IPsec on ${label} (${bin})`,
          fix: 'apt-get install --no-install-recommends strongswan libstrongswan-standard-plugins openvswitch-ipsec (scripts/install.sh does it without starting their services)',
        },
      ]);
  try {
    await must(exec, ['install', '-d', '-m', '700', p.dir, `${p.dir}/etc`, `${p.dir}/usr/sbin`, `${p.dir}/sbin`, p.labDir, p.run], label);
    await must(exec, ['touch', p.marker], label);
    await writeFileVia(exec, p.strongswanConf, strongswanConf(p, label), '600', label);
    await writeFileVia(exec, p.ipsecConf, ipsecConfTop(p, label, Boolean(o.ovsDb)), '600', label);
    await writeFileVia(exec, p.ipsecSecrets, ipsecSecretsTop(p, Boolean(o.ovsDb)), '600', label);
    await writeFileVia(exec, p.wrapper, wrapperScript(p, label), '700', label);
    if (o.ovsDb) {
      // The OVS database will hold the ports' PSKs (options:psk): nobody but root reads it.
      const ovsDir = o.ovsDb.slice(0, o.ovsDb.lastIndexOf('/'));
      await must(exec, ['chmod', '700', ovsDir], label);
      await must(exec, ['chmod', '600', ovsPaths(ovsDir).db], label);
      await writeFileVia(exec, p.monitorConf, MONITOR_CONF_INITIAL, '600', label);
      await writeFileVia(exec, p.monitorSecrets, '', '600', label);
      // The monitor checks the kernel's view with <root prefix>/sbin/ip.
      await must(exec, ['ln', '-sf', '/sbin/ip', `${p.dir}/sbin/ip`], label);
    }
    await must(exec, ipsecCmd(p, ns).concat('start'), `${label}: starting strongSwan`, ns);
    await waitCharon(exec, p, ns, label, o.readyTimeoutMs ?? 30_000);
    if (o.ovsDb) {
      // The IKE daemon runs already (ours): --no-restart-ike-daemon keeps the monitor from
      // `ipsec restart` (a stop, a 2 s sleep and a start) at every start.
      await must(
        exec,
        inNetns(ns, [OVS_MONITOR_IPSEC, `--root-prefix=${p.dir}`, '--ike-daemon=strongswan', '--no-restart-ike-daemon', `--pidfile=${p.monitorPid}`, `--log-file=${p.monitorLog}`, '--detach', `unix:${o.ovsDb}`]),
        `${label}: starting ovs-monitor-ipsec`,
        ns,
        // Its unix control socket goes to OVS_RUNDIR: the host's directory.
        { env: { OVS_RUNDIR: p.dir, OVS_LOGDIR: p.dir, OVS_DBDIR: p.dir }, timeoutMs: 60_000 },
      );
    }
  } catch (e) {
    await stopIpsec(exec, p.dir).catch(() => {});
    if (e instanceof OpError) {
      const tail = await logTail(exec, p.charonLog);
      if (tail) e.message += `\n    charon log:\n      ${tail.split('\n').join('\n      ')}`;
    }
    throw e;
  }
}

/** Wait until charon answers on its control socket (through the host's `ipsec`). */
async function waitCharon(exec: Executor, p: IpsecPaths, ns: string, label: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: RunResult | undefined;
  while (Date.now() < deadline) {
    last = await exec.run(ipsecCmd(p, ns).concat('stroke', 'status'), { timeoutMs: 10_000 });
    if (last.exitCode === 0) return;
    await sleep(200);
  }
  throw failure(label, ns, last!, `charon did not answer within ${timeoutMs / 1000} s`);
}

interface Daemon {
  name: 'starter' | 'charon' | 'ovs-monitor-ipsec';
  pid: number;
}

async function readPid(exec: Executor, file: string): Promise<number | undefined> {
  const r = await exec.run(['cat', file]);
  const pid = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Alive (not a zombie) and provably this directory's: guards against pid reuse. */
async function isOurs(exec: Executor, d: Daemon, p: IpsecPaths): Promise<boolean> {
  const stat = await exec.run(['cat', `/proc/${d.pid}/stat`]);
  if (stat.exitCode !== 0) return false;
  const state = /\)\s+(\S)/.exec(stat.stdout)?.[1];
  if (state === 'Z' || state === 'X') return false;
  if (d.name === 'ovs-monitor-ipsec') {
    const cmd = await exec.run(['cat', `/proc/${d.pid}/cmdline`]);
    return cmd.exitCode === 0 && cmd.stdout.split('\0').includes(`--root-prefix=${p.dir}`);
  }
  // starter and charon have fixed command lines; the environment names the configuration.
  const env = await exec.run(['cat', `/proc/${d.pid}/environ`]);
  return env.exitCode === 0 && env.stdout.split('\0').includes(`STRONGSWAN_CONF=${p.strongswanConf}`);
}

async function runningDaemons(exec: Executor, p: IpsecPaths): Promise<Daemon[]> {
  const out: Daemon[] = [];
  for (const [name, file] of [['ovs-monitor-ipsec', p.monitorPid], ['starter', p.starterPid], ['charon', p.charonPid]] as const) {
    const pid = await readPid(exec, file);
    if (pid && (await isOurs(exec, { name, pid }, p))) out.push({ name, pid });
  }
  return out;
}

async function waitGone(exec: Executor, ds: Daemon[], p: IpsecPaths, ms: number): Promise<Daemon[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive: Daemon[] = [];
    for (const d of ds) if (await isOurs(exec, d, p)) alive.push(d);
    if (!alive.length || Date.now() >= deadline) return alive;
    await sleep(100);
  }
}

/**
 * Stop the daemons of `dir` and remove it. The monitor first (SIGTERM: it exits without touching
 * strongSwan), then starter (SIGTERM: it stops charon, which removes its SAs and policies), then
 * SIGKILL for whatever is left. Works whether or not the namespace still exists (gc).
 */
export async function stopIpsec(exec: Executor, dir: string): Promise<void> {
  const p = ipsecPaths(dir);
  let alive = await runningDaemons(exec, p);
  for (const group of [['ovs-monitor-ipsec'], ['starter'], ['charon']]) {
    const these = alive.filter((d) => group.includes(d.name));
    if (!these.length) continue;
    await exec.run(['kill', '-TERM', ...these.map((d) => String(d.pid))]);
    await waitGone(exec, these, p, 5000);
  }
  alive = await waitGone(exec, alive, p, 0);
  if (alive.length) {
    await exec.run(['kill', '-KILL', ...alive.map((d) => String(d.pid))]);
    alive = await waitGone(exec, alive, p, 2000);
  }
  if (alive.length)
    throw new OpError({ subject: `IKE daemons in ${dir}`, request: `kill -KILL ${alive.map((d) => d.pid).join(' ')}`, kernelMessage: `still running after SIGKILL: ${alive.map((d) => `${d.name} ${d.pid}`).join(', ')}` });
  if ((await exec.run(['test', '-e', p.marker])).exitCode === 0) {
    const rm = await exec.run(['rm', '-rf', '--', dir]);
    if (rm.exitCode !== 0) throw failure(`removing ${dir}`, undefined, rm, 'rm failed');
  }
}

/** Directories of IKE daemons (they carry the marker) under `root`: for gc and tests. */
export async function findIpsecDirs(exec: Executor, root: string): Promise<string[]> {
  const r = await exec.run(['find', root, '-maxdepth', '3', '-name', '.geneve-lab-ipsec', '-type', 'f']);
  return r.stdout.split('\n').filter(Boolean).map((f) => f.slice(0, -'/.geneve-lab-ipsec'.length)).sort();
}
