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
import { existsSync, rmdirSync } from 'node:fs';
import { privTest, randomLabName } from '../../support/priv.js';
import { startSshLab, type SshLab } from '../../support/sshd.js';

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
