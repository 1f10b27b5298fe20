/**
 * Running a host's commands on a remote machine over OpenSSH.
 *
 * One multiplexed connection per host: `open()` starts a ControlMaster (one TCP connection, one
 * authentication), every `run()`/`start()` is a cheap session on it, `close()` ends it with
 * `ssh -O exit`. Host keys are always checked. The remote side always runs the login shell, so
 * every argv element is quoted for it (see `remoteCommand`).
 */
import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, LabError, OpError } from '../errors.js';
import { toRunResult, type Background, type Executor, type RunOptions, type RunResult } from './executor.js';
import {
  commandArgv,
  controlArgv,
  explainSshFailure,
  masterArgv,
  remoteCommand,
  specProblems,
  type SshSpec,
} from '../remote/ssh-args.js';
import type { ConnectionLedger, ConnectionRecord } from '../remote/connections.js';
import { pidFileWrapper, removeRemoteDirScript, signalLiveScript } from '../remote/pid-files.js';
import { selfId } from '../engine/procs.js';

export type { SshSpec } from '../remote/ssh-args.js';

/** One or more hosts could not be reached; nothing was changed on any host. */
export class SshUnreachableError extends LabError {
  readonly hosts: { host: string; target: string; reason: string }[];
  constructor(hosts: { host: string; target: string; reason: string }[]) {
    super(hosts.map((h) => h.reason).join('\n'), ExitCode.missingPrerequisite, { code: 'host_unreachable' });
    this.hosts = hosts;
  }
  override toJSON() {
    return { ...super.toJSON(), hosts: this.hosts };
  }
}

/** The SSH settings of a host are malformed (caught before any connection is tried). */
export class SshSpecError extends LabError {
  constructor(problems: string[]) {
    super(problems.join('\n'), ExitCode.invalidInput, { code: 'invalid_ssh_settings' });
  }
}

/** A quoting probe: if the remote login shell returns it unchanged, argv quoting is sound there. */
const PROBE = `a b'c"d$e\`f;g|h*\\i`;
/**
 * sshd allows 10 sessions per connection by default (MaxSessions). Commands beyond that would be
 * refused by the server, so we queue them locally and keep one session free for stop().
 */
const DEFAULT_MAX_SESSIONS = 10;
/** Grace between the local timeout and the remote `timeout`, so the remote side ends first. */
const REMOTE_TIMEOUT_SLACK_MS = 5000;

const toSshResult = (argv: readonly string[], started: number, r: unknown): RunResult =>
  toRunResult(argv, started, r, 'ssh: command not found (install openssh-client)');

/**
 * Executors still open when the process exits (an error path that skipped close(), or a CLI that
 * calls process.exit on Ctrl-C): their remote processes are stopped and masters ended synchronously,
 * so no orphaned master or remote iperf3/tcpdump outlives us.
 */
const openExecutors = new Set<SshExecutor>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const ex of openExecutors) ex.closeSync();
  });
}

export class SshExecutor implements Executor {
  readonly where: string;
  readonly spec: SshSpec;
  private localDir: string | undefined;
  private controlPath: string | undefined;
  /** Private directory on the remote host for pid files of started processes. */
  private remoteDir: string | undefined;
  private useSudo = false;
  /** Where this connection is on record while open (see lib/remote/connections.ts), and its id there. */
  private readonly ledger: ConnectionLedger | undefined;
  private recordId: string | undefined;
  private readonly running = new Set<Background>();
  private activeRuns = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(spec: SshSpec, opts: { ledger?: ConnectionLedger } = {}) {
    const problems = specProblems(spec);
    if (problems.length) throw new SshSpecError(problems);
    this.spec = { ...spec };
    this.ledger = opts.ledger;
    this.where = `ssh ${spec.host} (${spec.target}${spec.port ? `:${spec.port}` : ''})`;
  }

  get isOpen(): boolean {
    return this.controlPath !== undefined;
  }

  /** Whether remote commands are prefixed with `sudo -n` (login user is not root). */
  get sudo(): boolean {
    return this.useSudo;
  }

  private local(argv: string[]): string[] {
    return this.spec.clientNetns ? ['ip', 'netns', 'exec', this.spec.clientNetns, ...argv] : argv;
  }

  private unreachable(stderr: string): SshUnreachableError {
    return new SshUnreachableError([{ host: this.spec.host, target: this.spec.target, reason: explainSshFailure(this.spec, stderr) }]);
  }

  /** Open the master connection, check the remote shell and privileges. Idempotent. */
  async open(): Promise<void> {
    if (this.controlPath) return;
    // mkdtemp creates the directory 0700: nobody else can reach (or replace) our control socket.
    const dir = await mkdtemp(join(tmpdir(), 'gl-ssh-'));
    const controlPath = join(dir, 'm');
    // The remote directory's name is chosen here so that it is on record before it exists.
    const remoteDir = `/tmp/geneve-lab-ssh.${randomBytes(8).toString('hex')}`;
    const record: ConnectionRecord = { id: basename(dir), owner: selfId(), host: this.spec.host, spec: this.spec, localDir: dir, controlPath, remoteDir };
    const forget = async () => {
      await rm(dir, { recursive: true, force: true });
      this.ledger?.remove(record.id);
    };
    try {
      // On record before the master starts: a kill -9 from here on leaves nothing gc cannot find.
      this.ledger?.write(record);
    } catch (e) {
      await forget();
      throw e;
    }
    const [file, ...args] = this.local(masterArgv(this.spec, controlPath));
    // -f: ssh returns once authenticated and leaves the master in the background (stdio on /dev/null).
    const r = await execa(file!, args, { reject: false, stdin: 'ignore', timeout: ((this.spec.connectTimeoutSec ?? 10) + 20) * 1000 });
    if (r.exitCode !== 0) {
      await forget();
      throw this.unreachable(typeof r.stderr === 'string' && r.stderr ? r.stderr : String(r.shortMessage ?? ''));
    }
    this.localDir = dir;
    this.controlPath = controlPath;
    this.recordId = record.id;
    openExecutors.add(this);
    installExitHook();
    try {
      await this.probe(remoteDir);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** One round trip: quoting works, who we are, sudo if needed, the private remote temp dir (`dir`, 0700). */
  private async probe(dir: string): Promise<void> {
    const mode = this.spec.privilege ?? 'auto';
    // mkdir without -p fails on an existing path: the directory is ours alone or the probe fails.
    const script =
      'printf "%s\\n" "$1"; echo "uid=$(id -u)"; mkdir -m 700 -- "$3" && echo "dir=$3"; ' +
      'if [ "$2" = sudo ] || { [ "$2" = auto ] && [ "$(id -u)" != 0 ]; }; then ' +
      'if sudo -n true >/dev/null 2>&1; then echo sudo=ok; else echo sudo=no; fi; fi';
    const r = await this.raw(['sh', '-c', script, 'sh', PROBE, mode, dir], {});
    const lines = r.stdout.split('\n');
    if (r.exitCode !== 0 || lines[0] !== PROBE)
      throw new OpError({
        subject: `remote shell on host "${this.spec.host}" does not pass arguments through intact (a POSIX login shell such as sh or bash is needed)`,
        host: this.spec.host,
        request: 'sh -c <probe>',
        stderr: r.stderr || `got ${JSON.stringify(lines[0])}`,
        exitCode: r.exitCode,
      });
    const field = (k: string) => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
    if (field('dir') !== dir)
      throw new OpError({ subject: `cannot create a temporary directory in /tmp on host "${this.spec.host}"`, host: this.spec.host, request: `mkdir -m 700 ${dir}`, stderr: r.stderr });
    this.remoteDir = dir;
    const sudo = field('sudo');
    if (sudo === 'no')
      throw new OpError({
        subject: `user of ${this.spec.target} on host "${this.spec.host}" ${field('uid') === '0' ? 'cannot run sudo' : 'is not root and cannot use sudo without a password'} (lab commands need root: log in as root or allow passwordless sudo)`,
        host: this.spec.host,
        request: 'sudo -n true',
        stderr: r.stderr,
      });
    this.useSudo = sudo === 'ok';
  }

  private get maxSessions(): number {
    return this.spec.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  /** Wait for a free session: background processes hold theirs, one stays free for stop(). */
  private async acquire(): Promise<void> {
    while (this.activeRuns >= Math.max(1, this.maxSessions - this.running.size - 1))
      await new Promise<void>((res) => this.waiting.push(res));
    this.activeRuns++;
  }

  private release(): void {
    this.activeRuns--;
    this.waiting.shift()?.();
  }

  /** Send argv to the remote shell as is (no sudo/env wrapping). */
  private async raw(argv: readonly string[], opts: RunOptions & { localTimeoutMs?: number }): Promise<RunResult> {
    if (!this.controlPath) throw new Error(`ssh connection to host "${this.spec.host}" is not open (call open() first)`);
    const [file, ...args] = this.local(commandArgv(this.spec, this.controlPath, remoteCommand(argv)));
    await this.acquire();
    const started = Date.now();
    let r: unknown;
    try {
      r = await execa(file!, args, {
        reject: false,
        input: opts.input,
        stdin: opts.input === undefined ? 'ignore' : undefined,
        timeout: opts.localTimeoutMs,
        stripFinalNewline: false,
        killSignal: 'SIGKILL',
      });
    } finally {
      this.release();
    }
    const res = toSshResult(argv, started, r);
    if (res.exitCode === 255 && !(await this.masterAlive())) throw this.unreachable(res.stderr);
    return res;
  }

  /** The remote argv: sudo, environment and a remote-side timeout around the caller's argv. */
  private wrap(argv: readonly string[], opts: RunOptions): string[] {
    if (argv.length === 0) throw new Error('empty argv');
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // A killed local ssh client does not kill the remote process (no tty, no SIGHUP), so the
    // timeout is enforced on the remote side too.
    const timeout = opts.timeoutMs ? ['timeout', '-k', '2', (opts.timeoutMs / 1000).toFixed(3)] : [];
    return [...(this.useSudo ? ['sudo', '-n', '--'] : []), ...timeout, ...(env.length ? ['env', ...env] : []), ...argv];
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const res = await this.raw(this.wrap(argv, opts), {
      ...opts,
      ...(opts.timeoutMs ? { localTimeoutMs: opts.timeoutMs + REMOTE_TIMEOUT_SLACK_MS } : {}),
    });
    // coreutils timeout exits 124 (TERM worked) or 137 (needed KILL).
    const timedOut = res.timedOut || (opts.timeoutMs !== undefined && (res.exitCode === 124 || res.exitCode === 137));
    return { ...res, argv: [...argv], timedOut };
  }

  /** Run and throw an OpError naming the host and carrying the remote stderr on a non-zero exit. */
  async runOk(argv: readonly string[], subject: string, opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.run(argv, opts);
    if (r.exitCode !== 0)
      throw new OpError({ subject, host: this.spec.host, request: argv.join(' '), stderr: r.stderr, exitCode: r.exitCode });
    return r;
  }

  /**
   * Start a long-running remote process. A small remote wrapper records the program's pid in the
   * private remote directory, so stop() can signal the remote process itself (closing the SSH
   * session alone would leave it running), and removes the pid file when the program ends.
   */
  start(argv: readonly string[], opts: RunOptions = {}): Background {
    if (!this.controlPath || !this.remoteDir) throw new Error(`ssh connection to host "${this.spec.host}" is not open (call open() first)`);
    if (argv.length === 0) throw new Error('empty argv');
    if (this.running.size >= this.maxSessions - 2)
      throw new Error(
        `host "${this.spec.host}": already ${this.running.size} background processes over SSH; the server allows ${this.maxSessions} sessions per connection (MaxSessions)`,
      );
    const pidFile = `${this.remoteDir}/${randomBytes(6).toString('hex')}.pid`;
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const wrapper = [
      ...(this.useSudo ? ['sudo', '-n', '--'] : []),
      ...pidFileWrapper(pidFile),
      // As in run(): a local timeout alone would leave the remote process running.
      ...(opts.timeoutMs ? ['timeout', '-k', '2', (opts.timeoutMs / 1000).toFixed(3)] : []),
      ...(env.length ? ['env', ...env] : []),
      ...argv,
    ];
    const [file, ...args] = this.local(commandArgv(this.spec, this.controlPath, remoteCommand(wrapper)));
    const started = Date.now();
    const child: ResultPromise = execa(file!, args, {
      reject: false,
      stdin: 'ignore',
      timeout: opts.timeoutMs ? opts.timeoutMs + REMOTE_TIMEOUT_SLACK_MS : undefined,
      stripFinalNewline: false,
    });
    const done = (child as Promise<unknown>).then((r) => {
      const res = toSshResult(argv, started, r);
      const remoteTimeout = opts.timeoutMs !== undefined && (res.exitCode === 124 || res.exitCode === 137);
      return remoteTimeout ? { ...res, timedOut: true } : res;
    });
    let settled = false;
    void done.then(() => {
      settled = true;
      this.running.delete(bg);
      this.waiting.shift()?.(); // a session came free
    });
    const signal = (sig: 'TERM' | 'KILL', waitForPid: boolean) =>
      // The session may not have written the pid yet when stop() follows start() at once.
      this.run(signalLiveScript(pidFile, sig, waitForPid)).catch(() => undefined);
    const within = (ms: number) =>
      Promise.race([done.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), ms).unref())]);
    const bg: Background = {
      pid: child.pid,
      argv: [...argv],
      remotePidFile: pidFile,
      done,
      stop: async (graceMs = 2000) => {
        if (settled) return done;
        await signal('TERM', true);
        if (!(await within(graceMs))) {
          await signal('KILL', false);
          if (!(await within(3000))) child.kill('SIGKILL');
        }
        return done;
      },
    };
    this.running.add(bg);
    return bg;
  }

  /** Is the master still there? */
  async masterAlive(): Promise<boolean> {
    if (!this.controlPath) return false;
    const [file, ...args] = this.local(controlArgv(this.spec, this.controlPath, 'check'));
    const r = await execa(file!, args, { reject: false, stdin: 'ignore', timeout: 10_000 });
    return r.exitCode === 0;
  }

  /** Stop what we started, remove our remote temp dir, end the master. Idempotent, never throws. */
  async close(): Promise<void> {
    if (!this.controlPath) return;
    await Promise.all([...this.running].map((b) => b.stop().catch(() => undefined)));
    const removed = this.remoteDir
      ? await this.raw(['rm', '-rf', '--', this.remoteDir], { localTimeoutMs: 15_000 }).then((r) => r.exitCode === 0, () => false)
      : true;
    const [file, ...args] = this.local(controlArgv(this.spec, this.controlPath, 'exit'));
    await execa(file!, args, { reject: false, stdin: 'ignore', timeout: 10_000 });
    if (this.localDir) await rm(this.localDir, { recursive: true, force: true });
    this.forgetRecord(removed);
    openExecutors.delete(this);
    this.controlPath = undefined;
    this.localDir = undefined;
    this.remoteDir = undefined;
  }

  /**
   * The connection is closed: its record goes, unless the remote directory could not be removed
   * (host gone meanwhile) — then the record stays and a later `gc` removes the directory.
   */
  private forgetRecord(remoteRemoved: boolean): void {
    if (this.recordId && remoteRemoved) this.ledger?.remove(this.recordId);
    this.recordId = undefined;
  }

  /** Last-resort synchronous cleanup at process exit (see `openExecutors`); prefer close(). */
  closeSync(): void {
    if (!this.controlPath) return;
    const sync = (argv: string[]): boolean => {
      const [file, ...args] = this.local(argv);
      try {
        execFileSync(file!, args, { stdio: 'ignore', timeout: 10_000 });
        return true;
      } catch {
        return false; // best effort at exit
      }
    };
    const removed = this.remoteDir
      ? sync(commandArgv(this.spec, this.controlPath, remoteCommand([...(this.useSudo ? ['sudo', '-n', '--'] : []), ...removeRemoteDirScript(this.remoteDir)])))
      : true;
    sync(controlArgv(this.spec, this.controlPath, 'exit'));
    if (this.localDir) rmSync(this.localDir, { recursive: true, force: true });
    this.forgetRecord(removed);
    openExecutors.delete(this);
    this.controlPath = undefined;
    this.localDir = undefined;
    this.remoteDir = undefined;
  }
}

/**
 * After a crash (`gc`): reach the host of a connection record afresh and remove the remote
 * directory the dead process left (stopping what its pid files name). Throws when the host
 * cannot be reached or the removal fails; the record is then kept for a later gc.
 */
export async function removeRemoteLeftovers(rec: ConnectionRecord, ledger?: ConnectionLedger): Promise<void> {
  const ex = new SshExecutor(rec.spec, ledger ? { ledger } : {});
  await ex.open();
  try {
    await ex.runOk(removeRemoteDirScript(rec.remoteDir), `remove ${rec.remoteDir} (left by a geneve-lab process that died) on host "${rec.host}"`, { timeoutMs: 20_000 });
  } finally {
    await ex.close();
  }
}

/** Create and open an executor for one host. */
export async function openSsh(spec: SshSpec): Promise<SshExecutor> {
  const ex = new SshExecutor(spec);
  await ex.open();
  return ex;
}

/**
 * Open every host's master before anything is changed anywhere. If any host cannot be reached,
 * the masters already opened are closed again and one error lists every unreachable host.
 */
export async function preflight(hosts: readonly SshExecutor[]): Promise<void> {
  const results = await Promise.allSettled(hosts.map((h) => h.open()));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ ex: hosts[i]!, err: r.reason as unknown }] : []));
  if (failed.length === 0) return;
  await Promise.all(hosts.map((h) => h.close()));
  const unreachable = failed.flatMap(({ err }) => (err instanceof SshUnreachableError ? err.hosts : []));
  const other = failed.filter(({ err }) => !(err instanceof SshUnreachableError));
  if (other.length === 0) throw new SshUnreachableError(unreachable);
  if (unreachable.length === 0 && other.length === 1) throw other[0]!.err;
  throw new SshUnreachableError([
    ...unreachable,
    ...other.map(({ ex, err }) => ({ host: ex.spec.host, target: ex.spec.target, reason: err instanceof Error ? err.message : String(err) })),
  ]);
}
