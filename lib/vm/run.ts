/**
 * runInVm: boot a throwaway VM, run one command in it, stream its stdout/stderr, return its
 * exit code. Nothing outlives the call: qemu is killed on timeout/abort (and by the kernel via
 * PR_SET_PDEATHSIG if this process dies), the host-side temp directory is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PrerequisiteError } from '../errors.js';
import { accelAttempts, bootWithFallback, kvmState, rememberKvmBroken, type AccelRequest, type BootOutcome } from './accel.js';
import { commandScript, configScript, guestEnv } from './command.js';
import { ConsoleWatcher, type ConsoleEvent } from './console.js';
import { VmError } from './errors.js';
import { ensureInitramfs } from './initramfs.js';
import { ensureDebianKernel, userKernel, type Kernel } from './kernel.js';
import { defaultCacheDir, kvmStateFile } from './paths.js';
import { findInPath, QEMU_BINARY } from './prerequisites.js';
import { qemuArgv, standardShares, type Accel } from './qemu.js';
import { hostTscKhz } from './tsc.js';
import { bootableKernel } from './vmlinux.js';

export interface VmRunOptions {
  /** The command to run inside the VM, as an argv array. */
  argv: readonly string[];
  /** Working directory inside the VM (a host path; the host's filesystem is visible). Default: process.cwd(). */
  cwd?: string;
  accel?: AccelRequest;
  /** A kernel image and its module tree instead of Debian's stock kernel. */
  kernel?: string;
  modules?: string;
  memoryMb?: number;
  cpus?: number;
  /** Host directory shared read-write, mounted at the same path inside the VM. */
  resultsDir?: string;
  /** Whole run (boot included); 0 or undefined: no limit. */
  timeoutSec?: number;
  /** Extra environment for the command. */
  env?: Record<string, string>;
  cacheDir?: string;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Copy the raw console to this stream (debugging). */
  console?: NodeJS.WritableStream;
  /** One-time or notable steps: kernel download, KVM fallback. */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export interface VmRunResult {
  exitCode: number;
  accel: Accel;
  /** From starting qemu to the command starting inside the guest. */
  bootMs: number;
  totalMs: number;
}

interface Attempt {
  child: ChildProcess;
  watcher: ConsoleWatcher;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  qemuStderr: () => string;
  outputsDone: () => Promise<void>;
  startedAt: number;
  readyAt?: number;
  close: () => Promise<void>;
}

/** Listen on a unix socket; everything qemu sends on it goes to `sink`. */
async function outputSocket(path: string, sink: NodeJS.WritableStream): Promise<{ server: Server; drained: () => Promise<void> }> {
  const conns: Promise<void>[] = [];
  const server = createServer((sock: Socket) => {
    conns.push(
      new Promise<void>((res) => {
        sock.on('data', (d) => sink.write(d));
        sock.on('close', () => res());
        sock.on('error', () => res());
      }),
    );
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res());
  });
  return {
    server,
    // After qemu exited its sockets close; wait for the last bytes, but never forever.
    drained: () => Promise.race([Promise.all(conns).then(() => {}), new Promise<void>((r) => setTimeout(r, 2000).unref())]),
  };
}

/**
 * The machine to boot (lib/vm/qemu.ts): a microvm under TCG when the host's TSC frequency is
 * known, else the PC machine (and always under KVM, whose PC guests get kvmclock).
 * GENEVE_LAB_VM_MACHINE=pc forces the PC machine.
 */
export function machineFor(accel: Accel, env: NodeJS.ProcessEnv = process.env, tscKhz: () => number | undefined = hostTscKhz): { microvm?: { tscKhz: number } } {
  if (accel !== 'tcg' || env.GENEVE_LAB_VM_MACHINE === 'pc') return {};
  const khz = tscKhz();
  return khz ? { microvm: { tscKhz: khz } } : {};
}

function killHard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function runInVm(opts: VmRunOptions): Promise<VmRunResult> {
  const started = Date.now();
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const progress = opts.onProgress ?? (() => {});
  if (opts.argv.length === 0) throw new VmError('no command given to run in the VM');
  if ((opts.kernel === undefined) !== (opts.modules === undefined)) {
    throw new PrerequisiteError([{ feature: 'custom VM kernel', fix: '--kernel and --modules go together: the kernel image and the module tree of the same release' }]);
  }
  const qemu = await findInPath(QEMU_BINARY);
  if (!qemu) throw new PrerequisiteError([{ feature: `${QEMU_BINARY} (runs the VM)`, fix: 'apt-get install qemu-system-x86' }]);

  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const hostDir = await mkdtemp(join(tmpdir(), 'geneve-lab-vm-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(hostDir, { recursive: true, force: true })];
  let current: Attempt | undefined;
  const abort = () => current && killHard(current.child);
  opts.signal?.addEventListener('abort', abort);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    opts.signal?.throwIfAborted();
    const kernel: Kernel =
      opts.kernel !== undefined && opts.modules !== undefined
        ? await userKernel(opts.kernel, opts.modules, hostDir)
        : await ensureDebianKernel(cacheDir, { onProgress: progress });
    const [initrd, image] = await Promise.all([ensureInitramfs(kernel, cacheDir), bootableKernel(kernel.vmlinuz, kernel.version, cacheDir)]);

    const ctl = join(hostDir, 'ctl');
    await mkdir(ctl);
    const resultsDir = opts.resultsDir ? resolve(opts.resultsDir) : undefined;
    if (resultsDir) await mkdir(resultsDir, { recursive: true });
    await writeFile(join(ctl, 'config.sh'), configScript(resultsDir));
    const colour = Boolean((stdout as { isTTY?: boolean }).isTTY);
    await writeFile(
      join(ctl, 'command.sh'),
      commandScript({ argv: opts.argv, cwd: resolve(opts.cwd ?? process.cwd()), env: guestEnv(process.env, opts.env, colour) }),
    );

    const stateFile = kvmStateFile(cacheDir);
    const kvm = await kvmState(stateFile);
    if (opts.accel === 'kvm' && !kvm.usable) {
      throw new PrerequisiteError([{ feature: 'KVM acceleration (--accel kvm)', fix: `${kvm.reason}; load kvm_intel/kvm_amd and add yourself to group kvm, or use --accel tcg` }]);
    }
    const pdeathsig = await findInPath('setpriv');
    if (opts.timeoutSec && opts.timeoutSec > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        abort();
      }, opts.timeoutSec * 1000);
    }

    let attemptNo = 0;
    const boot = async (accel: Accel, deadlineMs: number): Promise<BootOutcome<Attempt>> => {
      attemptNo++;
      const outSock = join(hostDir, `out${attemptNo}.sock`);
      const errSock = join(hostDir, `err${attemptNo}.sock`);
      const outS = await outputSocket(outSock, stdout);
      const errS = await outputSocket(errSock, stderr);
      const argv = qemuArgv({
        qemu,
        accel,
        ...machineFor(accel),
        memoryMb: opts.memoryMb ?? 2048,
        cpus: opts.cpus ?? 2,
        kernel: image,
        initrd,
        shares: standardShares({ modulesDir: kernel.modulesDir, controlDir: ctl, ...(resultsDir ? { resultsDir } : {}) }),
        stdoutSocket: outSock,
        stderrSocket: errSock,
      });
      const full = pdeathsig ? [pdeathsig, '--pdeathsig', 'SIGKILL', '--', ...argv] : argv;
      let initResolve: (v: boolean) => void = () => {};
      const initSeen = new Promise<boolean>((r) => (initResolve = r));
      const watcher = new ConsoleWatcher((e: ConsoleEvent) => {
        if (e.kind === 'init') initResolve(true);
        if (e.kind === 'ready' && current) current.readyAt = Date.now();
      });
      const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let qemuErr = '';
      child.stderr!.on('data', (d: Buffer) => {
        qemuErr = (qemuErr + d.toString()).slice(-4000);
      });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        opts.console?.write(d);
        watcher.feed(d);
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
        child.on('exit', (code, signal) => res({ code, signal }));
        child.on('error', (err) => {
          qemuErr += String(err);
          res({ code: -1, signal: null });
        });
      });
      exited.then(() => initResolve(false));
      const attempt: Attempt = {
        child,
        watcher,
        exited,
        qemuStderr: () => qemuErr.trim(),
        startedAt: Date.now(),
        outputsDone: async () => {
          await Promise.all([outS.drained(), errS.drained()]);
        },
        close: async () => {
          killHard(child);
          await exited;
          outS.server.close();
          errS.server.close();
        },
      };
      current = attempt;
      if (opts.signal?.aborted) killHard(child);
      const deadline = setTimeout(() => initResolve(false), deadlineMs);
      const ok = await initSeen;
      clearTimeout(deadline);
      if (ok) return { booted: true, value: attempt };
      const stillRunning = child.exitCode === null && child.signalCode === null;
      await attempt.close();
      const why = stillRunning
        ? `no sign of the guest kernel within ${Math.round(deadlineMs / 1000)} s`
        : `qemu exited before the guest started${attempt.qemuStderr() ? ': ' + attempt.qemuStderr().split('\n').slice(-3).join(' / ') : ''}`;
      return { booted: false, reason: why };
    };

    const { accel, outcome } = await bootWithFallback(accelAttempts(opts.accel ?? 'auto', kvm), boot, async (from, to, reason) => {
      progress(`${from.toUpperCase()} did not boot (${reason}); using ${to.toUpperCase()}`);
      if (from === 'kvm' && opts.accel !== 'kvm') await rememberKvmBroken(stateFile, reason);
    });
    if (opts.signal?.aborted || timedOut) throw interrupted(timedOut, opts, current);
    if (!outcome.booted) {
      throw new VmError(`the VM did not boot with ${accel.toUpperCase()}: ${outcome.reason}`, current?.watcher.lastLines() ?? []);
    }
    const run = outcome.value;
    const exit = await run.exited;
    await run.outputsDone();
    await run.close();
    if (opts.signal?.aborted || timedOut) throw interrupted(timedOut, opts, run);

    const status = (await readFile(join(ctl, 'status'), 'utf8').catch(() => '')).trim();
    if (/^\d+$/.test(status)) {
      return {
        exitCode: Number(status),
        accel,
        bootMs: (run.readyAt ?? Date.now()) - run.startedAt,
        totalMs: Date.now() - started,
      };
    }
    throw new VmError(describeFailure(run, exit), run.watcher.lastLines());
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abort);
    if (current) await current.close().catch(() => {});
    for (const c of cleanups) await c().catch(() => {});
  }
}

function interrupted(timedOut: boolean, opts: VmRunOptions, run: Attempt | undefined): VmError {
  const lines = run?.watcher.lastLines() ?? [];
  return timedOut
    ? new VmError(`the VM command did not finish within ${opts.timeoutSec} s (--timeout); the VM was stopped`, lines)
    : new VmError('interrupted; the VM was stopped');
}

function describeFailure(run: Attempt, exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  const ev = run.watcher.events;
  const fail = ev.find((e) => e.kind === 'fail');
  if (fail && fail.kind === 'fail') return `the VM could not set itself up: ${fail.what}`;
  const panic = ev.find((e) => e.kind === 'panic');
  if (panic && panic.kind === 'panic') return `the VM kernel panicked: ${panic.line}`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const qerr = run.qemuStderr();
  return `the VM stopped before the command finished (qemu ${how})${qerr ? `; qemu said: ${qerr.split('\n').slice(-3).join(' / ')}` : ''}`;
}
