/**
 * Running programs. Every process gets an argv array (never a shell string). The executor is
 * an interface so the engine can run locally, over SSH, or against a fake in pure tests.
 */
import { execa, type ResultPromise } from 'execa';

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Aborting it kills the process (SIGKILL): Ctrl-C stops a check's helpers at once. */
  signal?: AbortSignal;
  /** Told the pid of the process as soon as it exists (the checks' helper registry records it). */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  argv: string[];
  exitCode: number; // -1 when the program could not be started or was killed
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT: not installed). */
  spawnError?: string;
}

export interface Background {
  readonly pid: number | undefined;
  readonly argv: string[];
  /** Resolves when the process exits by itself (or after stop()). */
  readonly done: Promise<RunResult>;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the final result. */
  stop(graceMs?: number): Promise<RunResult>;
  /** Over SSH: the file on the remote host holding the remote program's pid while it runs. */
  readonly remotePidFile?: string;
}

export interface Executor {
  /** Human description of where commands run: "local", "ssh root@192.0.2.1". */
  readonly where: string;
  /**
   * Commands run on this very machine, in this process's view of /run/netns: a check may open
   * sockets inside a namespace itself instead of starting a process there (in-process ping).
   */
  readonly inProcess?: boolean;
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  start(argv: readonly string[], opts?: RunOptions): Background;
}

/** Prefix argv so it runs inside a named network namespace. */
export function inNetns(ns: string | undefined, argv: readonly string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : [...argv];
}

export { shellQuote } from './quote.js';

/**
 * An execa result (or failure) as a RunResult. Shared by every executor so that all of them
 * report stderr the same way (never execa's own summary in place of the program's stderr).
 */
export function toRunResult(argv: readonly string[], started: number, r: any, notFound = `${argv[0]}: command not found`): RunResult {
  const spawnError = r.code && typeof r.exitCode !== 'number' ? String(r.code) : undefined;
  return {
    argv: [...argv],
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr:
      typeof r.stderr === 'string' && r.stderr !== ''
        ? r.stderr
        : spawnError === 'ENOENT'
          ? notFound
          : spawnError
            ? (r.shortMessage ?? spawnError)
            : // The program printed nothing on stderr: say nothing rather than execa's summary.
              '',
    durationMs: Date.now() - started,
    timedOut: Boolean(r.timedOut),
    ...(spawnError ? { spawnError } : {}),
  };
}

export class LocalExecutor implements Executor {
  readonly where = 'local';
  readonly inProcess = true;

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const started = Date.now();
    const child = execa(file, args, {
      reject: false,
      input: opts.input,
      stdin: opts.input === undefined ? 'ignore' : undefined,
      timeout: opts.timeoutMs,
      env: opts.env,
      stripFinalNewline: false,
      killSignal: 'SIGKILL',
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const r = await child;
    return toRunResult(argv, started, r);
  }

  start(argv: readonly string[], opts: RunOptions = {}): Background {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const started = Date.now();
    const child: ResultPromise = execa(file, args, {
      reject: false,
      stdin: 'ignore',
      env: opts.env,
      timeout: opts.timeoutMs,
      stripFinalNewline: false,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const done = (child as Promise<unknown>).then((r) => toRunResult(argv, started, r));
    return {
      pid: child.pid,
      argv: [...argv],
      done,
      async stop(graceMs = 2000) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        try {
          return await done;
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }
}
