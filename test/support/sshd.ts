/**
 * Real remote machines for the SSH tests: N namespaces ("boxes") joined by a bridge in a third
 * namespace on 198.51.100.0/24, each running Debian's OpenSSH server with its own host key,
 * authorized_keys, pid file and log (LogLevel VERBOSE, so accepted connections can be counted).
 * The ssh client runs in the bridge namespace (198.51.100.1): nothing touches the root namespace.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile, mkdir, stat, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshSpec } from '../../lib/exec/ssh.js';

export interface SshBox {
  name: string;
  ns: string;
  address: string;
  logFile: string;
  pid: number;
}

export interface SshLab {
  /** Namespace the ssh client runs in (holds the bridge and 198.51.100.1). */
  clientNs: string;
  boxes: SshBox[];
  dir: string;
  clientKey: string;
  knownHosts: string;
  /** An SshSpec that reaches box `name` as root with our key and known_hosts. */
  spec(name: string, extra?: Partial<SshSpec>): SshSpec;
  /** How many TCP connections box `name`'s sshd accepted so far (from its log). */
  acceptedConnections(name: string): Promise<string[]>;
  teardown(): Promise<void>;
}

async function sh(argv: string[]): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return String(r.stdout);
}

const PRIVSEP_DIR = '/run/sshd';

export async function startSshLab(lab: string, boxCount = 2): Promise<SshLab> {
  const dir = await mkdtemp(join(tmpdir(), `gl-sshd-${lab}-`));
  const clientNs = `gl-${lab}--u`;
  const boxes: SshBox[] = [];
  const children: ReturnType<typeof execa>[] = [];
  const namespaces: string[] = [];
  let createdPrivsep = false;

  const teardown = async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.allSettled(children);
    for (const ns of namespaces.reverse()) await execa('ip', ['netns', 'del', ns], { reject: false });
    await rm(dir, { recursive: true, force: true });
    if (createdPrivsep) await rmdir(PRIVSEP_DIR).catch(() => undefined);
  };

  try {
    // sshd refuses to start without its privilege separation directory (normally made by systemd).
    if (!(await stat(PRIVSEP_DIR).catch(() => undefined))) {
      await mkdir(PRIVSEP_DIR, { mode: 0o755 });
      createdPrivsep = true;
    }
    await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'geneve-lab-test-client', '-f', join(dir, 'client')]);
    const clientKey = join(dir, 'client');
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`));

    await sh(['ip', 'netns', 'add', clientNs]);
    namespaces.push(clientNs);
    await sh(['ip', '-n', clientNs, 'link', 'set', 'lo', 'up']);
    await sh(['ip', '-n', clientNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', clientNs, 'addr', 'add', '198.51.100.1/24', 'dev', 'br0']);
    await sh(['ip', '-n', clientNs, 'link', 'set', 'br0', 'up']);

    const known: string[] = [];
    for (let i = 1; i <= boxCount; i++) {
      const name = `box-${i}`;
      const ns = `gl-${lab}-${name}`;
      const address = `198.51.100.${10 + i}`;
      const bdir = join(dir, name);
      await mkdir(bdir, { mode: 0o700 });
      await sh(['ip', 'netns', 'add', ns]);
      namespaces.push(ns);
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // Both veth ends are born inside namespaces: nothing appears in the root namespace.
      await sh(['ip', '-n', clientNs, 'link', 'add', `p-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await sh(['ip', '-n', clientNs, 'link', 'set', `p-${name}`, 'master', 'br0', 'up']);
      await sh(['ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `${name}-host`, '-f', join(bdir, 'host_ed25519')]);
      const config = [
        `ListenAddress ${address}`,
        'Port 22',
        `HostKey ${join(bdir, 'host_ed25519')}`,
        `PidFile ${join(bdir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The temp dir is not laid out like ~/.ssh; the key files are ours and private anyway.
        'StrictModes no',
        'LogLevel VERBOSE',
        // MaxSessions stays at sshd's default (10), like a real server: the executor must cope.
        'AllowTcpForwarding yes',
        'PrintMotd no',
        'AcceptEnv none',
      ].join('\n');
      await writeFile(join(bdir, 'sshd_config'), config + '\n');
      const logFile = join(bdir, 'sshd.log');
      await writeFile(logFile, '');
      const child = execa('ip', ['netns', 'exec', ns, '/usr/sbin/sshd', '-D', '-f', join(bdir, 'sshd_config'), '-E', logFile], {
        reject: false,
        stdin: 'ignore',
      });
      children.push(child);
      // Wait until it listens (it logs "Server listening on ...").
      let ok = false;
      for (let t = 0; t < 100 && !ok; t++) {
        ok = (await readFile(logFile, 'utf8')).includes('Server listening');
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      if (!ok) throw new Error(`sshd for ${name} did not start: ${await readFile(logFile, 'utf8')}`);
      known.push(`${address} ${(await readFile(join(bdir, 'host_ed25519.pub'), 'utf8')).trim()}`);
      boxes.push({ name, ns, address, logFile, pid: child.pid! });
    }
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, known.join('\n') + '\n');

    return {
      clientNs,
      boxes,
      dir,
      clientKey,
      knownHosts,
      spec(name, extra = {}) {
        const b = boxes.find((x) => x.name === name);
        if (!b) throw new Error(`no box ${name}`);
        return {
          host: name,
          target: `root@${b.address}`,
          identity: clientKey,
          knownHosts,
          configFile: '/dev/null',
          clientNetns: clientNs,
          connectTimeoutSec: 3,
          ...extra,
        };
      },
      async acceptedConnections(name) {
        const b = boxes.find((x) => x.name === name)!;
        return (await readFile(b.logFile, 'utf8')).split('\n').filter((l) => /^Connection from /.test(l) || / Connection from /.test(l));
      },
      teardown,
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
