/**
 * The remote pid files of SSH background processes (lib/remote/pid-files.ts): the scripts run
 * here with the local shells (sh, and dash / busybox when present — what a remote host may have
 * as /bin/sh) on real processes. The point: after a crash a pid file is only trusted while its
 * process still has the recorded start time, so a reused pid is never signalled.
 * test/priv/ssh/ssh-executor.test.ts runs the same scripts over a real SSH connection.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { processStartTime } from '../../../lib/engine/procs.js';
import { collectPidFileScript, pidFileWrapper, removeRemoteDirScript, signalLiveScript } from '../../../lib/remote/pid-files.js';

const SHELLS: string[][] = [['sh']];
if (spawnSync('dash', ['-c', 'true']).status === 0) SHELLS.push(['dash']);
if (spawnSync('busybox', ['sh', '-c', 'true']).status === 0) SHELLS.push(['busybox', 'sh']);

/** Run a script argv (`sh -c SCRIPT sh ARGS…`) with another shell in place of `sh`. */
const withShell = (shell: string[], argv: string[]): [string, string[]] => {
  const [, ...rest] = argv;
  const all = [...shell, ...rest];
  return [all[0]!, all.slice(1)];
};
/** Asynchronously: the tests run at once, and a blocked event loop would miss their processes' moments. */
const runScript = async (shell: string[], argv: string[]) => {
  const [file, args] = withShell(shell, argv);
  const r = await execa(file, args, { reject: false, timeout: 10_000 });
  if (r.exitCode !== 0) throw new Error(`${shell.join(' ')} ${argv[2]}: exit ${r.exitCode}: ${r.stderr}`);
};

/** Start time of a running (not zombie) process as /proc/PID/stat field 22 (lib/engine/procs.ts, the local side's reading). */
const startTime = (pid: number): string | undefined => processStartTime(pid)?.toString();
/** Alive and not a zombie (a signalled child of a wrapper is a zombie until reaped). */
const running = (pid: number) => processStartTime(pid) !== undefined;
const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
const until = async (f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return f();
};

function setup(t: { teardown: (f: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gl-pidfiles-'));
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  /** Start `program` through the wrapper, as SshExecutor.start does on the host; resolves once the pid file is there. */
  const wrapped = async (shell: string[], pidFile: string, program: string[]) => {
    const [file, args] = withShell(shell, [...pidFileWrapper(pidFile), ...program]);
    const c = spawn(file, args, { stdio: 'ignore' });
    children.push(c);
    if (!(await until(() => existsSync(pidFile)))) throw new Error('the wrapper wrote no pid file');
    const [pid, start] = readFileSync(pidFile, 'utf8').trim().split(' ');
    return { wrapper: c, pid: Number(pid), start };
  };
  /** A process not started by us through a wrapper (the "someone else" of a reused pid). */
  const bystander = () => {
    const c = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  return { dir, wrapped, bystander };
}

for (const shell of SHELLS) {
  const name = shell.join(' ');

  test(`${name}: the wrapper records pid and start time, passes the exit status on and removes its pid file`, async (t) => {
    const s = setup(t);
    const pidFile = join(s.dir, 'a.pid');
    const go = join(s.dir, 'go');
    const w = await s.wrapped(shell, pidFile, ['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.05; done; exit 7', 'sh', go]);
    t.is(w.start, startTime(w.pid), 'the start time of /proc/PID/stat, field 22');
    writeFileSync(go, '');
    t.is(await exited(w.wrapper), 7);
    t.false(existsSync(pidFile));
  });

  test(`${name}: a command name with ") " in it does not shift the start time`, async (t) => {
    const s = setup(t);
    const odd = join(s.dir, 'x) 1 2 3');
    symlinkSync(spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim(), odd);
    const w = await s.wrapped(shell, join(s.dir, 'b.pid'), [odd, '30']);
    t.regex(readFileSync(`/proc/${w.pid}/stat`, 'utf8'), /\(x\) 1 2 3\)/, 'the name as the kernel shows it');
    t.is(w.start, startTime(w.pid));
  });

  test(`${name}: after a crash, a pid file whose process is still the recorded one stops it and goes`, async (t) => {
    const s = setup(t);
    const pidFile = join(s.dir, 'c.pid');
    const w = await s.wrapped(shell, pidFile, ['sleep', '30']);
    await runScript(shell, collectPidFileScript(pidFile));
    t.true(await until(() => !running(w.pid)), 'the recorded process is stopped');
    await exited(w.wrapper);
    t.false(existsSync(pidFile));
  });

  test(`${name}: a reused pid (same pid, another start time) and a pid file without a start time are never signalled`, async (t) => {
    const s = setup(t);
    const other = s.bystander();
    await until(() => startTime(other.pid!) !== undefined);
    const reused = join(s.dir, 'd.pid');
    writeFileSync(reused, `${other.pid} ${Number(startTime(other.pid!)) - 1}\n`);
    await runScript(shell, collectPidFileScript(reused));
    const old = join(s.dir, 'e.pid');
    writeFileSync(old, `${other.pid}\n`);
    await runScript(shell, collectPidFileScript(old));
    const junk = join(s.dir, 'f.pid');
    writeFileSync(junk, `../${other.pid} ${startTime(other.pid!)}\n`);
    await runScript(shell, collectPidFileScript(junk));
    await new Promise((r) => setTimeout(r, 400)); // past the script's TERM → KILL pause
    t.true(running(other.pid!), 'the other process lives');
    t.deepEqual([existsSync(reused), existsSync(old), existsSync(junk)], [false, false, false], 'the stale pid files are removed');
  });

  test(`${name}: removing a connection's directory stops its recorded processes only, then removes it`, async (t) => {
    const s = setup(t);
    const remoteDir = join(s.dir, 'geneve-lab-ssh.0123456789abcdef');
    spawnSync('mkdir', ['-m', '700', remoteDir]);
    const ours = await s.wrapped(shell, join(remoteDir, 'g.pid'), ['sleep', '30']);
    const other = s.bystander();
    await until(() => startTime(other.pid!) !== undefined);
    writeFileSync(join(remoteDir, 'h.pid'), `${other.pid} 1\n`);
    await runScript(shell, removeRemoteDirScript(remoteDir));
    t.true(await until(() => !running(ours.pid)), 'the recorded process is stopped');
    t.true(running(other.pid!), 'the process behind a stale pid file lives');
    t.false(existsSync(remoteDir));
  });

  test(`${name}: the live stop waits for the pid file, then signals its process`, async (t) => {
    const s = setup(t);
    const pidFile = join(s.dir, 'i.pid');
    // The signal script starts first and waits for the wrapper's pid file, as stop() right after start() does.
    const signalled = runScript(shell, signalLiveScript(pidFile, 'TERM', true));
    await new Promise((r) => setTimeout(r, 300));
    const [wf, wargs] = withShell(shell, [...pidFileWrapper(pidFile), 'sleep', '30']);
    const wrapper = spawn(wf, wargs, { stdio: 'ignore' });
    t.teardown(() => void wrapper.kill('SIGKILL'));
    await signalled;
    t.is(await exited(wrapper), 143, 'the program ended by TERM (128 + 15)');
    t.false(existsSync(pidFile));
  });
}
