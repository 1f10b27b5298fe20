/**
 * Pure pieces of the SSH executor: validating a host's SSH settings, building the OpenSSH client
 * argv, quoting an argv for the remote shell, and explaining why a connection failed. No I/O here,
 * so every rule is tested in the pure tier.
 */
import { shellQuote } from '../exec/executor.js';

/** How to reach one remote host. Mirrors `HostPlacement` of kind "ssh" plus client-side knobs. */
export interface SshSpec {
  /** Lab host name, used in every message ("box-1"). */
  host: string;
  /** `user@address` or `address` (IPv4, IPv6 without brackets, or a DNS name). */
  target: string;
  port?: number;
  /** Private key file (IdentitiesOnly is set when given). */
  identity?: string;
  /** Jump host `[user@]address[:port]`, reached with the same key/known_hosts settings. */
  jump?: string;
  /** known_hosts file to check the host key against (default: ssh's own ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Trust an unknown host key on first use and record it (StrictHostKeyChecking=accept-new). */
  acceptNewHostKey?: boolean;
  /** TCP connect timeout in seconds (default 10). */
  connectTimeoutSec?: number;
  /** Idle seconds after which an orphaned master exits by itself, a safety net after a crash (default 600). */
  controlPersistSec?: number;
  /** ssh_config file; default ssh's own (~/.ssh/config). "/dev/null" ignores the user's config. */
  configFile?: string;
  /**
   * Commands need root on the remote side. "auto" (default): use `sudo -n` when the login user is
   * not root; "sudo": always; "none": never (fails later if the user lacks the rights).
   */
  privilege?: 'auto' | 'sudo' | 'none';
  /** The server's MaxSessions (sessions per connection); default 10, sshd's default. */
  maxSessions?: number;
  /** Run the local ssh client inside this network namespace (management network in a netns). */
  clientNetns?: string;
}

const TARGET_RE = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?[A-Za-z0-9:_][A-Za-z0-9.:_-]*$/;
const JUMP_RE = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9_:][A-Za-z0-9.:_-]*|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?)$/;

/** Every problem with a spec, as messages naming the field and what is allowed. Empty when fine. */
export function specProblems(spec: SshSpec): string[] {
  const p: string[] = [];
  const at = `host "${spec.host}": ssh`;
  if (!TARGET_RE.test(spec.target))
    p.push(`${at}.target: "${spec.target}" is not [user@]address (letters, digits, . _ - : only; it must not start with "-")`);
  if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535))
    p.push(`${at}.port: ${spec.port} is not a port number; use 1..65535`);
  if (spec.jump !== undefined && !JUMP_RE.test(spec.jump))
    p.push(`${at}.jump: "${spec.jump}" is not [user@]address[:port] (IPv6 in brackets when a port is given)`);
  for (const [field, v] of [['identity', spec.identity], ['known_hosts', spec.knownHosts], ['config', spec.configFile]] as const)
    if (v !== undefined && (v === '' || v.includes('\n')))
      p.push(`${at}.${field}: "${v}" is not a usable file path`);
  const t = spec.connectTimeoutSec;
  if (t !== undefined && !(Number.isInteger(t) && t >= 1 && t <= 600))
    p.push(`${at}.connect_timeout: ${t} must be whole seconds, 1..600`);
  const m = spec.maxSessions;
  if (m !== undefined && !(Number.isInteger(m) && m >= 3 && m <= 1000))
    p.push(`${at}.max_sessions: ${m} must be a whole number, 3..1000 (the server's MaxSessions)`);
  return p;
}

/** Options shared by the master, every command, and the jump host connection. */
export function commonOptions(spec: SshSpec): string[] {
  const o = (kv: string) => ['-o', kv];
  return [
    ...(spec.configFile ? ['-F', spec.configFile] : []),
    ...o('BatchMode=yes'),
    ...o(`StrictHostKeyChecking=${spec.acceptNewHostKey ? 'accept-new' : 'yes'}`),
    // Never rewrite a known_hosts file the user gave us behind their back.
    ...o('UpdateHostKeys=no'),
    ...(spec.knownHosts ? o(`UserKnownHostsFile=${spec.knownHosts}`) : []),
    ...(spec.identity ? [...o(`IdentityFile=${spec.identity}`), ...o('IdentitiesOnly=yes')] : []),
    ...o(`ConnectTimeout=${spec.connectTimeoutSec ?? 10}`),
    // Without this, "Warning: Permanently added ..." would be mixed into the remote stderr.
    ...o('LogLevel=ERROR'),
  ];
}

/** Split a jump spec `[user@]addr[:port]` (IPv6 as `[addr]:port` or bare without a port). */
export function parseJump(jump: string): { target: string; port?: string } {
  const at = jump.lastIndexOf('@');
  const user = at >= 0 ? jump.slice(0, at + 1) : '';
  const rest = jump.slice(at + 1);
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) return { target: user + bracketed[1], ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  const colons = rest.split(':').length - 1;
  if (colons === 1) {
    const [h, p] = rest.split(':') as [string, string];
    return { target: user + h, port: p };
  }
  return { target: user + rest };
}

/** `-o ProxyCommand=…` reaching the target through the jump host with the same security settings. */
export function jumpOptions(spec: SshSpec): string[] {
  if (!spec.jump) return [];
  const { target, port } = parseJump(spec.jump);
  // ProxyCommand (unlike ProxyJump) lets us pass our own options to the inner ssh, so the jump host
  // is checked against the same known_hosts and uses the same key. ssh expands %-tokens in it, so
  // literal "%" must be doubled; %h/%p are the final target's address and port.
  const inner = ['ssh', ...commonOptions(spec), ...(port ? ['-p', port] : []), '-W', '%h:%p', '--', target];
  const cmd = shellQuote(inner.map((a) => (a === '%h:%p' ? a : a.replace(/%/g, '%%'))));
  return ['-o', `ProxyCommand=${cmd}`];
}

/** The ControlPath option, with "%" escaped (ssh expands tokens in it). */
export function controlPathOption(path: string): string[] {
  return ['-o', `ControlPath=${path.replace(/%/g, '%%')}`];
}

/** Start the master: authenticate, then go to the background holding the one TCP connection. */
export function masterArgv(spec: SshSpec, controlPath: string): string[] {
  return [
    'ssh',
    ...commonOptions(spec),
    ...jumpOptions(spec),
    ...(spec.port ? ['-p', String(spec.port)] : []),
    ...controlPathOption(controlPath),
    '-o', 'ControlMaster=yes',
    '-o', `ControlPersist=${spec.controlPersistSec ?? 600}`,
    // Notice a vanished host while the lab runs instead of hanging on it.
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=3',
    '-N', '-f', '-T',
    '--', spec.target,
  ];
}

/**
 * One command through the master. All connection options are repeated so that, should the master
 * be gone, ssh's fallback (a direct connection) is exactly as strict as the master was.
 */
export function commandArgv(spec: SshSpec, controlPath: string, remoteCommand: string): string[] {
  return [
    'ssh',
    ...commonOptions(spec),
    ...jumpOptions(spec),
    ...(spec.port ? ['-p', String(spec.port)] : []),
    ...controlPathOption(controlPath),
    '-o', 'ControlMaster=no',
    '-T',
    '--', spec.target, remoteCommand,
  ];
}

/** `ssh -O check|exit` against the master's socket. */
export function controlArgv(spec: SshSpec, controlPath: string, op: 'check' | 'exit'): string[] {
  return ['ssh', ...(spec.configFile ? ['-F', spec.configFile] : []), '-o', 'LogLevel=ERROR', ...controlPathOption(controlPath), '-O', op, '--', spec.target];
}

/**
 * Quote one word for a POSIX shell. Unlike `shellQuote` (display), "=" and "~" are always quoted
 * so a first word like `A=b` is never taken as an assignment and `~` is never expanded.
 */
export function quoteWord(s: string): string {
  return /^[A-Za-z0-9_@%+:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * sshd always hands the command to the login user's shell as one string. Quoting every argv
 * element makes the remote program receive exactly the argv we meant (spaces, quotes, $, `, ;, newlines).
 */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty argv');
  return argv.map(quoteWord).join(' ');
}

/** Why ssh (exit 255) could not reach a host, in words, with the fix. */
export function explainSshFailure(spec: SshSpec, stderr: string): string {
  const s = stderr.trim();
  const port = spec.port ?? 22;
  const addr = spec.target.replace(/^.*@/, '');
  const kh = spec.knownHosts ?? '~/.ssh/known_hosts';
  let why: string;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed|No .*host key is known/i.test(s))
    why = `its host key is not trusted: add the key of ${addr} to ${kh} (for example from the machine's console: cat /etc/ssh/ssh_host_ed25519_key.pub), or set accept_new_host_key to trust it on first use`;
  else if (/Permission denied/i.test(s))
    why = `authentication failed for ${spec.target}: check the identity file${spec.identity ? ` (${spec.identity})` : ''} and the remote authorized_keys`;
  else if (/Connection refused/i.test(s)) why = `connection refused: no SSH server listens on ${addr} port ${port}`;
  else if (/timed out/i.test(s)) why = `connection timed out after ${spec.connectTimeoutSec ?? 10} s (is ${addr} up and reachable?)`;
  else if (/No route to host|Network is unreachable/i.test(s)) why = `no route to ${addr} from this machine`;
  else if (/Could not resolve hostname/i.test(s)) why = `the name ${addr} cannot be resolved`;
  else why = s ? `ssh said: ${s.split('\n').slice(-3).join(' / ')}` : 'ssh failed without a message';
  return `host "${spec.host}" could not be reached over SSH (${spec.target}${spec.port ? ` port ${spec.port}` : ''}${spec.jump ? ` via ${spec.jump}` : ''}): ${why}`;
}

/** The executor spec for a resolved host placement of kind "ssh" (lib/model/types.ts). */
export function specFromPlacement(
  host: string,
  p: { target: string; port?: number; identity?: string; jump?: string; knownHosts?: string },
  extra: Omit<Partial<SshSpec>, 'host' | 'target'> = {},
): SshSpec {
  return {
    host,
    target: p.target,
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.identity !== undefined ? { identity: p.identity } : {}),
    ...(p.jump !== undefined ? { jump: p.jump } : {}),
    ...(p.knownHosts !== undefined ? { knownHosts: p.knownHosts } : {}),
    ...extra,
  };
}
