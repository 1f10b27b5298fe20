/**
 * The checks' helper processes (ping, iperf3, tcpdump…) and temporary files, on record.
 *
 * Checks run their tools through executors; here each executor is wrapped so that every
 * process it starts is recorded in the lab's state directory (pid + process start time, or the
 * remote pid file over SSH) BEFORE the check waits on it, and every temporary directory a check
 * asks for lives under the state directory (remote hosts: /tmp, recorded with the host). Then:
 * - Ctrl-C (the AbortSignal) kills the recorded processes at once and the checks end;
 * - after kill -9, `gc` (and `down`, `up`) find the processes and files in the record and
 *   remove them: a pid whose start time differs is someone else's and is never signalled.
 */
import { mkdir, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Background, Executor, RunOptions, RunResult } from '../exec/executor.js';
import { processStartTime, stopProcesses, type ProcessId } from './procs.js';
import type { StateStore } from './state.js';
import { collectPidFileScript } from '../remote/pid-files.js';

/** Records the helpers of one lab's running checks. */
export class HelperRegistry {
  private readonly live = new Set<Background>();

  constructor(
    private readonly store: StateStore,
    readonly lab: string,
    readonly signal?: AbortSignal,
  ) {
    signal?.addEventListener('abort', () => void this.stopLive(), { once: true });
  }

  private record(pid: number | undefined, exec: Executor, host: string | undefined, argv: readonly string[], remotePidFile?: string): void {
    if (pid === undefined) return;
    const argv0 = helperName(argv);
    if (exec.where === 'local') {
      const start = processStartTime(pid);
      this.store.recordHelper(this.lab, { helper: { pid, ...(start !== undefined ? { start } : {}), argv0 } });
    } else if (remotePidFile) {
      // The local pid is the ssh client; the program runs on the host, found by its pid file.
      this.store.recordHelper(this.lab, { helper: { pid, host: host ?? exec.where, argv0 }, });
      this.store.recordHelper(this.lab, { temp: remotePidFile, host: host ?? exec.where });
    }
  }

  private ended(pid: number | undefined): void {
    if (pid !== undefined) this.store.recordHelper(this.lab, { ended: pid });
  }

  /** An executor that records what it starts and stops it when the signal aborts. */
  wrap(exec: Executor, host?: string): Executor {
    const withSignal = (opts: RunOptions = {}): RunOptions => ({
      ...opts,
      ...(this.signal ? { signal: this.signal } : {}),
    });
    return {
      where: exec.where,
      ...(exec.inProcess ? { inProcess: true } : {}),
      run: async (argv: readonly string[], opts?: RunOptions): Promise<RunResult> => {
        if (this.signal?.aborted) throw new Error('checks were interrupted');
        let pid: number | undefined;
        const o = withSignal(opts);
        const running = exec.run(argv, {
          ...o,
          onSpawn: (p) => {
            pid = p;
            opts?.onSpawn?.(p);
            // Short commands (ip, ss, stat) are not worth a record; programs that make traffic are.
            if (isHelper(argv)) this.record(p, exec, host, argv);
          },
        });
        await crashTestPauseWithHelper(argv, pid);
        const r = await running;
        if (pid !== undefined && isHelper(argv)) this.ended(pid);
        return r;
      },
      start: (argv: readonly string[], opts?: RunOptions): Background => {
        if (this.signal?.aborted) throw new Error('checks were interrupted');
        const bg = exec.start(argv, withSignal(opts));
        this.record(bg.pid, exec, host, argv, bg.remotePidFile);
        void crashTestPauseWithHelper(argv, bg.pid);
        this.live.add(bg);
        void bg.done.then(() => {
          this.live.delete(bg);
          this.ended(bg.pid);
        });
        return bg;
      },
    };
  }

  /**
   * A fresh temporary directory for a check on `exec`'s machine: under the lab's run directory
   * of the state directory here (removed with the lab by down and gc), /tmp on an SSH host;
   * recorded either way.
   */
  async tempDir(exec: Executor, prefix: string, host?: string): Promise<string> {
    const name = `${prefix}-${randomBytes(6).toString('hex')}`;
    if (exec.where === 'local') {
      const dir = join(this.store.capturesDir(this.lab), name);
      this.store.recordHelper(this.lab, { temp: dir });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return dir;
    }
    const dir = `/tmp/geneve-lab-${name}`;
    this.store.recordHelper(this.lab, { temp: dir, host: host ?? exec.where });
    const r = await exec.run(['mkdir', '-m', '700', '-p', dir]);
    if (r.exitCode !== 0) throw new Error(`cannot create ${dir} on ${exec.where}: ${r.stderr.trim()}`);
    return dir;
  }

  /** Stop every helper still running (Ctrl-C, or the end of the checks). */
  async stopLive(): Promise<void> {
    await Promise.all([...this.live].map((b) => b.stop(1000).catch(() => undefined)));
  }
}

/**
 * Crash-test hook: with GENEVE_LAB_PAUSE_WITH_HELPER=PROGRAM the checks announce and pause (until
 * SIGCONT) right after they started that program, so a test can kill -9 the CLI while a check's
 * helper runs and its record is in the state directory.
 */
async function crashTestPauseWithHelper(argv: readonly string[], pid: number | undefined): Promise<void> {
  const want = process.env.GENEVE_LAB_PAUSE_WITH_HELPER;
  if (!want || helperName(argv) !== want) return;
  process.stderr.write(`geneve-lab: paused with ${want} running (pid ${pid ?? '?'}) (GENEVE_LAB_PAUSE_WITH_HELPER)\n`);
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    process.once('SIGCONT', () => {
      clearInterval(keepAlive);
      resolve();
    });
  });
}

/** The program an argv runs (past `ip netns exec NS`, `timeout`, `env`). */
function helperName(argv: readonly string[]): string {
  let i = 0;
  if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') i = 4;
  return argv[i] ?? '';
}

/** Programs that checks keep running for a while: worth recording for a crash. */
const HELPERS = new Set(['ping', 'iperf3', 'tcpdump', 'tshark', 'nc', 'socat', 'hping3', 'mausezahn', 'scapy', 'python3']);
function isHelper(argv: readonly string[]): boolean {
  return HELPERS.has(helperName(argv));
}

/**
 * Stop the recorded helpers of a lab and remove its recorded temporary files: after a crash
 * (gc, down, up of a lab whose checks died) or at the end of checks. `execFor(host)` reaches an
 * SSH host (undefined when it cannot be reached: those records are kept for a later gc).
 */
export async function collectHelpers(
  store: StateStore,
  lab: string,
  execFor: (host: string) => Executor | undefined,
): Promise<{ stopped: number; removed: number; kept: number }> {
  const { processes, temps } = store.readHelpers(lab);
  const local: ProcessId[] = processes.filter((p) => !p.host);
  const stopped = await stopProcesses(local);
  let removed = 0;
  let kept = 0;
  // Remote helpers: their pid files are among the temps; kill what they name, then remove them.
  for (const t of temps) {
    if (!t.host) {
      try {
        rmSync(t.path, { recursive: true, force: true });
        removed++;
      } catch {
        kept++;
      }
      continue;
    }
    const ex = execFor(t.host);
    if (!ex) {
      kept++;
      continue;
    }
    // A pid file's process is signalled only while it is still the one recorded (its start time).
    const argv = t.path.endsWith('.pid') ? collectPidFileScript(t.path) : ['rm', '-rf', '--', t.path];
    const r = await ex.run(argv).catch(() => undefined);
    if (r && r.exitCode === 0) removed++;
    else kept++;
  }
  if (kept === 0) store.clearHelpers(lab);
  return { stopped, removed, kept };
}

/** Remove a local directory tree quietly (a capture directory after its check). */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}
