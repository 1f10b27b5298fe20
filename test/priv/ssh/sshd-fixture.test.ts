/**
 * Issue 17, problem 10: the flaky SSH test. Its cause: the fake machines' sshd chroots into
 * /run/sshd (privilege separation) for every new connection, and the fixture REMOVED that
 * directory at teardown when it had created it — so when two SSH test files ran at once, the
 * first to finish made the other's servers reset every new connection
 * ("kex_exchange_identification: read: Connection reset by peer"). Now the fixture never removes
 * it. Also: namespaces made THROUGH a fake machine (mounted only in its private mount namespace)
 * are removed from /run/netns when the machine ends, so a failing test leaves no stale entries.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';
import { startSshLab, sweepDeadSshLabs, type SshLab } from '../../support/sshd.js';
import { execa } from 'execa';
import { processStartTime } from '../../../lib/engine/procs.js';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen'];

function ssh(lab: SshLab, box: string, argv: string[]) {
  const b = lab.boxes.find((x) => x.name === box)!;
  return spawnSync('ip', ['netns', 'exec', lab.clientNs, 'ssh', '-F', '/dev/null', '-i', lab.clientKey, '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${b.address}`, ...argv], { encoding: 'utf8', timeout: 30_000 });
}

const sshdRunning = () => spawnSync('pgrep', ['-x', 'sshd'], { encoding: 'utf8' }).stdout.trim() !== '';

privTest('problem 10: tearing down one fake SSH lab never breaks another that still runs', async (t) => {
  // Start from the state of a fresh machine when nothing needs /run/sshd (no sshd runs at all).
  if (existsSync('/run/sshd') && !sshdRunning()) rmdirSync('/run/sshd');
  const first = await startSshLab(randomLabName('sa'), 1);
  const second = await startSshLab(randomLabName('sb'), 1);
  t.teardown(() => second.teardown());
  t.is(ssh(second, 'box-1', ['true']).status, 0, 'the second lab answers');
  await first.teardown();
  t.true(existsSync('/run/sshd'), 'the privilege separation directory stays');
  for (let i = 0; i < 5; i++) {
    const r = ssh(second, 'box-1', ['true']);
    t.is(r.status, 0, `connection ${i + 1} after the first lab's teardown: ${r.stderr}`);
  }
}, { tools: TOOLS });

privTest('problem 10: a namespace made through a fake machine leaves no stale /run/netns entry when the machine ends', async (t) => {
  const lab = await startSshLab(randomLabName('sc'), 1);
  t.teardown(() => lab.teardown());
  const made = `gl-${randomLabName('st')}-g1`;
  t.is(ssh(lab, 'box-1', ['ip', 'netns', 'add', made]).status, 0);
  t.true(existsSync(`/run/netns/${made}`), 'the file is in the shared /run/netns');
  // Inside the machine it is a namespace; from here it is a file with nothing mounted on it.
  t.throws(() => execFileSync('ip', ['-n', made, 'link'], { stdio: 'pipe' }));
  await lab.teardown();
  t.false(existsSync(`/run/netns/${made}`), 'no stale entry left');
}, { tools: TOOLS });

privTest('a fake SSH lab whose test process was killed (teardown never ran) is removed by the next fixture start, by its record; a live one is not', async (t) => {
  const live = await startSshLab(randomLabName('sd'), 1);
  t.teardown(() => live.teardown());
  // The dead lab's directory in a root of its own (TMPDIR): other test files starting fixtures
  // meanwhile sweep /tmp, so this test alone decides when it is swept.
  const root = mkdtempSync(join(tmpdir(), 'gl-fixture-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const child = execa('node', ['--import', 'tsx', new URL('../../support/sshd-child.ts', import.meta.url).pathname, randomLabName('se')], { reject: false, env: { TMPDIR: root } });
  const made = await new Promise<{ dir: string; namespaces: string[]; sshd: number[] }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the child did not start its lab: ${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(out.split('\n')[0]!));
      }
    });
  });
  child.kill('SIGKILL');
  await child;
  const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const ns of made.namespaces) t.true(netns().includes(ns), `${ns} outlived its test process`);
  t.true(existsSync(made.dir));

  t.true(made.dir.startsWith(root + '/'));
  const swept = await sweepDeadSshLabs(root);
  t.deepEqual(swept, [made.dir]);
  for (const ns of made.namespaces) t.false(netns().includes(ns), `${ns} removed`);
  t.false(existsSync(made.dir), 'its directory removed');
  // SIGKILL was sent; give the kernel a moment to finish the process (a zombie counts as ended).
  const ended = async (pid: number) => {
    for (let i = 0; i < 50 && processStartTime(pid) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
    return processStartTime(pid) === undefined;
  };
  for (const pid of made.sshd) t.true(await ended(pid), `its sshd (${pid}) is gone`);
  // The live lab (this process's) is untouched by a sweep of its own directory's root, and still answers.
  await sweepDeadSshLabs();
  t.true(existsSync(live.dir));
  t.true(netns().includes(live.clientNs));
  t.is(ssh(live, 'box-1', ['true']).status, 0);
}, { tools: TOOLS });
