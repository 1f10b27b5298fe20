/**
 * The record of open SSH connections and gc's sweep of those whose process died
 * (lib/remote/connections.ts), with real processes standing in for ssh clients: node started
 * with argv[0] "ssh" and the `-o ControlPath=…` argument a master would carry. The remote side is
 * a callback here; test/priv/ssh/ssh-executor.test.ts sweeps a real connection after kill -9.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ConnectionFiles, sshProcessesOf, sweepConnections, type ConnectionRecord } from '../../../lib/remote/connections.js';
import { selfId } from '../../../lib/engine/procs.js';

/** A process that looks like an ssh client of this control path (argv[0] "ssh", the -o option). */
function fakeSsh(controlPath: string, argv0 = 'ssh'): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', '--', '-o', `ControlPath=${controlPath}`], { argv0, stdio: 'ignore' });
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

/** A dead process's identity: the pid of a child that has finished. */
function deadOwner() {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return { pid: Number(r.stdout.toString()), start: 1 };
}

function setup(t: { teardown: (f: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'gl-conn-test-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const ledger = new ConnectionFiles(join(root, 'connections'));
  /** A record as SshExecutor writes it, with a real local directory. */
  const record = (owner: ConnectionRecord['owner'], host = 'box-1'): ConnectionRecord => {
    const localDir = mkdtempSync(join(tmpdir(), 'gl-ssh-'));
    t.teardown(() => rmSync(localDir, { recursive: true, force: true }));
    return { id: basename(localDir), owner, host, spec: { host, target: 'root@198.51.100.11' }, localDir, controlPath: join(localDir, 'm'), remoteDir: '/tmp/geneve-lab-ssh.0123456789abcdef' };
  };
  return { root, ledger, record };
}

test('connection records: written, listed and removed; torn or misnamed files are never listed', (t) => {
  const { ledger, record } = setup(t);
  const a = record(selfId());
  const b = record(selfId(), 'box-2');
  ledger.write(a);
  ledger.write(b);
  t.deepEqual(ledger.list().map((r) => r.host).sort(), ['box-1', 'box-2']);
  ledger.write({ ...a, remoteDir: '/tmp/geneve-lab-ssh.ffff' });
  t.is(ledger.list().find((r) => r.id === a.id)!.remoteDir, '/tmp/geneve-lab-ssh.ffff', 'write replaces');
  writeFileSync(join(ledger.dir, 'gl-ssh-torn.json'), '{"id":"gl-ssh-torn","own');
  writeFileSync(join(ledger.dir, 'gl-ssh-other.json'), JSON.stringify({ ...a, id: 'gl-ssh-else' }));
  t.deepEqual(ledger.list().map((r) => r.id).sort(), [a.id, b.id].sort());
  ledger.remove(a.id);
  ledger.remove(a.id); // twice: no error
  t.deepEqual(ledger.list().map((r) => r.id), [b.id]);
});

test('sshProcessesOf finds exactly the ssh processes of one control path', async (t) => {
  const { record } = setup(t);
  const mine = record(selfId());
  const other = record(selfId());
  const procs = [fakeSsh(mine.controlPath), fakeSsh(mine.controlPath), fakeSsh(other.controlPath), fakeSsh(mine.controlPath, 'not-ssh')];
  t.teardown(() => procs.forEach((p) => p.kill('SIGKILL')));
  await new Promise((r) => setTimeout(r, 300));
  const found = sshProcessesOf(mine.controlPath).map((p) => p.pid).sort();
  t.deepEqual(found, [procs[0]!.pid, procs[1]!.pid].sort());
  t.true(sshProcessesOf(mine.controlPath).every((p) => typeof p.start === 'number'), 'each with its start time');
  t.deepEqual(sshProcessesOf(join(mine.localDir, 'n')), [], 'a path is compared whole');
});

test('sweep: a dead process\'s connection — remote directory, ssh processes, local directory and record go; a live one\'s stays', async (t) => {
  const { ledger, record } = setup(t);
  const dead = record(deadOwner());
  const live = record(selfId(), 'box-2');
  ledger.write(dead);
  ledger.write(live);
  const master = fakeSsh(dead.controlPath);
  const liveMaster = fakeSsh(live.controlPath);
  t.teardown(() => [master, liveMaster].forEach((p) => p.kill('SIGKILL')));
  await new Promise((r) => setTimeout(r, 300));
  const asked: string[] = [];
  const sweep = await sweepConnections(ledger, async (rec) => void asked.push(rec.remoteDir + ' on ' + rec.host));
  await exited(master);
  t.deepEqual(asked, [`${dead.remoteDir} on box-1`], 'only the dead process\'s remote directory is removed');
  t.deepEqual(sweep, { collected: [{ host: 'box-1', id: dead.id, processes: 1 }], kept: [] });
  t.false(existsSync(dead.localDir));
  t.not(master.signalCode ?? master.exitCode, null, 'its master was stopped');
  t.deepEqual(ledger.list().map((r) => r.id), [live.id]);
  t.true(existsSync(live.localDir));
  t.is(liveMaster.exitCode, null);
  t.is(liveMaster.signalCode, null, 'the live connection\'s master runs on');
});

test('sweep: an unreachable host keeps the record (for a later gc) but the local side goes', async (t) => {
  const { ledger, record } = setup(t);
  const dead = record(deadOwner());
  ledger.write(dead);
  const master = fakeSsh(dead.controlPath);
  t.teardown(() => master.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  const sweep = await sweepConnections(ledger, async () => {
    throw new Error('host "box-1" could not be reached over SSH');
  });
  await exited(master);
  t.deepEqual(sweep.collected, []);
  t.deepEqual(sweep.kept, [{ host: 'box-1', id: dead.id, reason: 'host "box-1" could not be reached over SSH' }]);
  t.deepEqual(ledger.list().map((r) => r.id), [dead.id]);
  t.false(existsSync(dead.localDir));
  // The next gc, host back: collected, nothing local left to do.
  const again = await sweepConnections(ledger, async () => {});
  t.deepEqual(again, { collected: [{ host: 'box-1', id: dead.id, processes: 0 }], kept: [] });
  t.deepEqual(ledger.list(), []);
});

test('sweep: a record whose paths are not the shape SshExecutor writes is never acted on', async (t) => {
  const { root, ledger, record } = setup(t);
  const precious = mkdtempSync(join(root, 'precious-'));
  const base = record(deadOwner());
  const damaged: ConnectionRecord[] = [
    { ...base, localDir: precious, controlPath: join(precious, 'm') },
    { ...record(deadOwner()), remoteDir: '/home' },
    { ...record(deadOwner()), remoteDir: '/tmp/geneve-lab-ssh.x/../../etc' },
  ];
  for (const d of damaged) ledger.write(d);
  let asked = 0;
  const sweep = await sweepConnections(ledger, async () => void asked++);
  t.is(asked, 0);
  t.deepEqual(sweep, { collected: [], kept: [] });
  t.true(existsSync(precious));
  t.is(ledger.list().length, 3);
});
