import test from 'ava';
import { execFileSync } from 'node:child_process';
import {
  commandArgv,
  controlArgv,
  explainSshFailure,
  jumpOptions,
  masterArgv,
  parseJump,
  quoteWord,
  remoteCommand,
  specFromPlacement,
  specProblems,
  type SshSpec,
} from '../../../lib/remote/ssh-args.js';
import { SshExecutor, SshSpecError } from '../../../lib/exec/ssh.js';

const spec: SshSpec = { host: 'box-1', target: 'vagrant@192.168.56.11' };

function opt(argv: string[], key: string): string | undefined {
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === '-o' && argv[i + 1]!.startsWith(`${key}=`)) return argv[i + 1]!.slice(key.length + 1);
  return undefined;
}

test('remoteCommand: a POSIX shell gives back exactly the argv (checked with the real sh)', (t) => {
  const argv = ['printf', '<%s>', 'a b', "it's", '$HOME', '`id`', '"q"', '', 'x;y|z&', '*', '~', 'new\nline', 'A=b', "''"];
  // sh -c "<our string>" is exactly what sshd does with the command.
  const out = execFileSync('sh', ['-c', remoteCommand(argv)], { encoding: 'utf8' });
  t.is(out, argv.slice(2).map((w) => `<${w}>`).join(''));
});

test('quoteWord: plain words stay readable, anything special is quoted', (t) => {
  t.is(quoteWord('ip'), 'ip');
  t.is(quoteWord('198.51.100.1/24'), '198.51.100.1/24');
  t.is(quoteWord('A=b'), `'A=b'`);
  t.is(quoteWord('~'), `'~'`);
  t.is(quoteWord(''), `''`);
  t.is(quoteWord("it's"), `'it'\\''s'`);
  t.throws(() => remoteCommand([]), { message: /empty argv/ });
});

test('masterArgv: strict host keys, batch mode, multiplexing, port, identity, known_hosts', (t) => {
  const a = masterArgv({ ...spec, port: 2222, identity: '/k/id', knownHosts: '/k/kh', connectTimeoutSec: 4 }, '/tmp/gl-ssh-x/m');
  t.is(opt(a, 'StrictHostKeyChecking'), 'yes');
  t.is(opt(a, 'BatchMode'), 'yes');
  t.is(opt(a, 'ControlMaster'), 'yes');
  t.is(opt(a, 'ControlPath'), '/tmp/gl-ssh-x/m');
  t.is(opt(a, 'ControlPersist'), '600');
  t.is(opt(a, 'UserKnownHostsFile'), '/k/kh');
  t.is(opt(a, 'IdentityFile'), '/k/id');
  t.is(opt(a, 'IdentitiesOnly'), 'yes');
  t.is(opt(a, 'ConnectTimeout'), '4');
  t.deepEqual(a.slice(a.indexOf('-p'), a.indexOf('-p') + 2), ['-p', '2222']);
  t.deepEqual(a.slice(-2), ['--', 'vagrant@192.168.56.11']);
  t.true(a.includes('-N') && a.includes('-f'));
});

test('acceptNewHostKey maps to accept-new, never to "no"', (t) => {
  t.is(opt(masterArgv({ ...spec, acceptNewHostKey: true }, '/p'), 'StrictHostKeyChecking'), 'accept-new');
  t.false(masterArgv({ ...spec, acceptNewHostKey: true }, '/p').some((a) => /StrictHostKeyChecking=no/.test(a)));
});

test('commandArgv: the remote command is ONE argument after "--" and the target', (t) => {
  const a = commandArgv(spec, '/p/m', remoteCommand(['ip', 'link', 'set', 'x', 'alias', 'a b']));
  t.is(opt(a, 'ControlMaster'), 'no');
  t.is(opt(a, 'StrictHostKeyChecking'), 'yes');
  t.deepEqual(a.slice(-3), ['--', 'vagrant@192.168.56.11', `ip link set x alias 'a b'`]);
});

test('controlArgv: -O check / -O exit on the same socket; "%" in paths is escaped', (t) => {
  t.deepEqual(controlArgv(spec, '/p/100%/m', 'exit').slice(-6), ['-o', 'ControlPath=/p/100%%/m', '-O', 'exit', '--', 'vagrant@192.168.56.11']);
  t.deepEqual(controlArgv(spec, '/p/m', 'check').slice(-3), ['check', '--', 'vagrant@192.168.56.11']);
});

test('jump host: ProxyCommand with the same strict settings, port and IPv6 forms', (t) => {
  t.deepEqual(parseJump('root@198.51.100.1:2200'), { target: 'root@198.51.100.1', port: '2200' });
  t.deepEqual(parseJump('bastion'), { target: 'bastion' });
  t.deepEqual(parseJump('u@[2001:db8::1]:22'), { target: 'u@2001:db8::1', port: '22' });
  t.deepEqual(parseJump('2001:db8::1'), { target: '2001:db8::1' });
  const o = jumpOptions({ ...spec, jump: 'root@198.51.100.1:2200', knownHosts: '/k/kh', identity: '/k/100%' });
  t.is(o[0], '-o');
  const pc = o[1]!;
  t.regex(pc, /^ProxyCommand=ssh /);
  t.regex(pc, /StrictHostKeyChecking=yes/);
  t.regex(pc, /UserKnownHostsFile=\/k\/kh/);
  t.regex(pc, /IdentityFile=\/k\/100%%/);
  t.regex(pc, / -p 2200 -W %h:%p -- root@198\.51\.100\.1$/);
  t.deepEqual(jumpOptions(spec), []);
});

test('specProblems: bad targets, ports, jumps are named with what is allowed', (t) => {
  t.deepEqual(specProblems(spec), []);
  t.deepEqual(specProblems({ host: 'h', target: 'root@2001:db8::5' }), []);
  const p = specProblems({ host: 'h', target: '-oProxyCommand=evil', port: 70000, jump: 'a b', connectTimeoutSec: 0 });
  t.is(p.length, 4);
  t.regex(p[0]!, /host "h": ssh\.target: "-oProxyCommand=evil" is not \[user@\]address.*must not start with "-"/);
  t.regex(p[1]!, /ssh\.port: 70000 .*1\.\.65535/);
  t.regex(p[2]!, /ssh\.jump/);
  t.regex(p[3]!, /connect_timeout/);
  t.throws(() => new SshExecutor({ host: 'h', target: 'a b' }), { instanceOf: SshSpecError, message: /ssh\.target/ });
});

test('explainSshFailure: each ssh failure says what is wrong and what to do', (t) => {
  const s = { ...spec, knownHosts: '/k/kh', identity: '/k/id' };
  t.regex(explainSshFailure(s, 'Host key verification failed.'), /host "box-1" could not be reached.*host key is not trusted: add the key of 192\.168\.56\.11 to \/k\/kh.*accept_new_host_key/);
  t.regex(explainSshFailure(s, 'vagrant@192.168.56.11: Permission denied (publickey).'), /authentication failed.*\/k\/id/);
  t.regex(explainSshFailure(s, 'ssh: connect to host 192.168.56.11 port 22: Connection refused'), /no SSH server listens on 192\.168\.56\.11 port 22/);
  t.regex(explainSshFailure(s, 'ssh: connect to host 192.168.56.11 port 22: Connection timed out'), /timed out after 10 s/);
  t.regex(explainSshFailure(s, 'ssh: connect to host x port 22: No route to host'), /no route/);
  t.regex(explainSshFailure(s, 'ssh: Could not resolve hostname nope'), /cannot be resolved/);
  t.regex(explainSshFailure(s, 'weird'), /ssh said: weird/);
});

test('an executor that was not opened says so instead of connecting', async (t) => {
  const ex = new SshExecutor(spec);
  t.false(ex.isOpen);
  await t.throwsAsync(ex.run(['true']), { message: /not open.*open\(\)/ });
  t.throws(() => ex.start(['true']), { message: /not open/ });
  t.is(ex.where, 'ssh box-1 (vagrant@192.168.56.11)');
  await ex.close(); // closing a closed executor is harmless
});

test('specFromPlacement: model placement → executor spec, nothing invented', (t) => {
  t.deepEqual(specFromPlacement('box-1', { target: 'vagrant@192.168.56.11' }), { host: 'box-1', target: 'vagrant@192.168.56.11' });
  t.deepEqual(specFromPlacement('b', { target: 'r@h', port: 2200, identity: '/k', jump: 'j', knownHosts: '/kh' }, { acceptNewHostKey: true }), {
    host: 'b', target: 'r@h', port: 2200, identity: '/k', jump: 'j', knownHosts: '/kh', acceptNewHostKey: true,
  });
});
