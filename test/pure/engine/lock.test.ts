/**
 * The per-lab lock and process identity (lock.ts, procs.ts): one geneve-lab process per lab; a
 * dead owner's lock is taken over; a recycled pid (same number, another start time) is not the
 * owner; re-entrant within a process.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockHolder, lockLab } from '../../../lib/engine/lock.js';
import { processAlive, processStartTime, selfId } from '../../../lib/engine/procs.js';
import { LabBusyError } from '../../../lib/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'gl-lock-'));

test('process identity: this process has a start time; another start time is another process', (t) => {
  const me = selfId();
  t.is(me.pid, process.pid);
  t.true(typeof me.start === 'number' && me.start > 0);
  t.true(processAlive(me));
  t.false(processAlive({ pid: process.pid, start: me.start! + 1 }), 'a recycled pid is not the recorded process');
  t.is(processStartTime(2 ** 22 + 12345), undefined);
});

test('a lab lock is exclusive across processes and names its holder (LabBusyError, exit 6)', async (t) => {
  const d = dir();
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(join(d, 'x.lock'), JSON.stringify({ pid: holder.pid, start: processStartTime(holder.pid!), verb: 'up' }));
  const e = t.throws(() => lockLab(d, 'x', 'down'), { instanceOf: LabBusyError });
  t.is(e!.exitCode, 6);
  t.is(e!.code, 'lab_busy');
  t.regex(e!.message, new RegExp(`in use by geneve-lab process ${holder.pid} \\(up\\)`));
  t.is(lockHolder(d, 'x')?.pid, holder.pid);
});

test('the lock of a dead process, or of a recycled pid, is taken over', (t) => {
  const d = dir();
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  for (const stale of [{ pid: 2 ** 22 + 4242, start: 1 }, { pid: process.ppid, start: 1 }]) {
    writeFileSync(join(d, 'x.lock'), JSON.stringify({ ...stale, verb: 'up' }));
    const lock = lockLab(d, 'x', 'gc');
    t.is(JSON.parse(readFileSync(join(d, 'x.lock'), 'utf8')).pid, process.pid);
    lock.release();
    t.false(existsSync(join(d, 'x.lock')), 'released');
  }
});

test('re-entrant within a process: released when the outermost holder releases', (t) => {
  const d = dir();
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const outer = lockLab(d, 'y', 'run');
  const inner = lockLab(d, 'y', 'up');
  inner.release();
  inner.release(); // twice is once
  t.true(existsSync(join(d, 'y.lock')), 'still held by the outer holder');
  outer.release();
  t.false(existsSync(join(d, 'y.lock')));
});
