/**
 * Real remote machines for the SSH tests: N namespaces ("boxes") joined by a bridge in a third
 * namespace on 198.51.100.0/24, each running Debian's OpenSSH server with its own host key,
 * authorized_keys, pid file and log (LogLevel VERBOSE, so accepted connections can be counted).
 * The ssh client runs in the bridge namespace (198.51.100.1): nothing touches the root namespace.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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

/**
 * sshd's privilege separation directory. Created when missing and NEVER removed: every running
 * sshd chroots into it for each new connection, so removing it while another test file's sshd
 * runs makes that server reset every new connection ("kex_exchange_identification: read:
 * Connection reset by peer") — the flake of the SSH tests when two test files ran at once and
 * the first one to finish removed the directory the other still needed. (An empty directory
 * that the openssh-server package also keeps there permanently.)
 */
const PRIVSEP_DIR = '/run/sshd';

/** Mount points under /run/netns in the mount namespace of process `pid`. */
function netnsMountsOf(pid: number | 'self'): Set<string> {
  try {
    return new Set(
      readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4] ?? '')
        .filter((m) => m.startsWith('/run/netns/'))
        .map((m) => m.slice('/run/netns/'.length)),
    );
  } catch {
    return new Set();
  }
}

/**
 * Namespaces made THROUGH a box (`ip netns add` over SSH) are mounted only in the box's private
 * mount namespace; when the box ends, this machine is left with their files under /run/netns and
 * nothing mounted on them. Remove exactly those: names mounted in one of our boxes (not here),
 * and now plain files.
 */
function removeStaleEntries(names: Iterable<string>): void {
  const dirDev = statSync('/run/netns').dev;
  for (const ns of names) {
    try {
      const st = statSync(`/run/netns/${ns}`);
      if (st.dev === dirDev && st.isFile()) unlinkSync(`/run/netns/${ns}`);
    } catch {
      /* gone */
    }
  }
}

/**
 * A fake SSH lab's record (`<dir>/owner.json`): the test process that made it and the namespaces
 * it made, written before each namespace exists. A test run that was killed (SIGTERM'd `npm test`,
 * kill -9 of a worker) never runs its teardowns; the next fixture started anywhere removes what
 * such dead owners left (sweepDeadSshLabs).
 */
interface FixtureRecord {
  /** pid and start time (field 22 of /proc/PID/stat): a recycled pid is not the owner. */
  owner: { pid: number; start: string };
  namespaces: string[];
}

/** Start time of a running process (undefined: no such process, or a zombie). Kept apart from lib/ on purpose: a fixture. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[0] === 'Z' ? undefined : rest[19];
  } catch {
    return undefined;
  }
}
const FIXTURE_PREFIX = 'gl-sshd-';

/** Kill every process in the namespaces, delete them (those still present), and remove the stale entries made through them. */
async function removeFixtureNamespaces(namespaces: readonly string[], madeInBoxes: Set<string> = new Set()): Promise<void> {
  // Everything still running in our namespaces is ours: sshd, its per-connection processes, OVS
  // daemons of the boxes, and the ssh masters of a client that was killed (ControlPersist keeps them).
  for (const ns of namespaces) {
    const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
    for (const pid of String(pids.stdout).split('\n').map(Number).filter((p) => p > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of [...namespaces].reverse()) await execa('ip', ['netns', 'del', ns], { reject: false });
  removeStaleEntries(madeInBoxes);
}

/**
 * Remove the fake SSH labs of test processes that died without their teardown: namespaces (and
 * every process in them) and directory, by each lab's own record. A live owner's lab, or a
 * directory without a record, is never touched. Returns the directories removed.
 */
export async function sweepDeadSshLabs(root = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(FIXTURE_PREFIX)) continue;
    const dir = join(root, name);
    let rec: FixtureRecord;
    try {
      rec = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as FixtureRecord;
    } catch {
      continue;
    }
    if (!rec.owner || startTime(rec.owner.pid) === rec.owner.start || !Array.isArray(rec.namespaces)) continue;
    // Only the names this fixture gives its namespaces (gl-<lab>-box-N, gl-<lab>--u).
    await removeFixtureNamespaces(rec.namespaces.filter((ns) => /^gl-[a-z0-9]+-(-u|box-\d+)$/.test(ns)));
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export async function startSshLab(lab: string, boxCount = 2): Promise<SshLab> {
  await sweepDeadSshLabs();
  const dir = await mkdtemp(join(tmpdir(), `${FIXTURE_PREFIX}${lab}-`));
  const clientNs = `gl-${lab}--u`;
  const boxes: SshBox[] = [];
  const children: ReturnType<typeof execa>[] = [];
  const namespaces: string[] = [];
  const owner = { pid: process.pid, start: startTime(process.pid)! };
  /** Record a namespace before it is made (see FixtureRecord). */
  const recordNamespace = (ns: string) => {
    namespaces.push(ns);
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ owner, namespaces } satisfies FixtureRecord));
  };
  const teardown = async () => {
    // What the boxes mounted under /run/netns that this machine's view has not (see removeStaleEntries).
    const here = netnsMountsOf('self');
    const madeInBoxes = new Set<string>();
    for (const c of children) if (c.pid) for (const ns of netnsMountsOf(c.pid)) if (!here.has(ns)) madeInBoxes.add(ns);
    for (const c of children) c.kill('SIGKILL');
    // The processes in the namespaces hold sshd's stdio, so they go before waiting for sshd.
    const settled = Promise.race([Promise.allSettled(children), new Promise((r) => setTimeout(r, 5000))]);
    await removeFixtureNamespaces(namespaces, madeInBoxes);
    await settled;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // sshd refuses to start without its privilege separation directory (normally made by systemd).
    if (!(await stat(PRIVSEP_DIR).catch(() => undefined))) await mkdir(PRIVSEP_DIR, { mode: 0o755 }).catch(() => undefined);
    await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'geneve-lab-test-client', '-f', join(dir, 'client')]);
    const clientKey = join(dir, 'client');
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`));

    recordNamespace(clientNs);
    await sh(['ip', 'netns', 'add', clientNs]);
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
      recordNamespace(ns);
      await sh(['ip', 'netns', 'add', ns]);
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
      // A machine of its own has its own home: sshd runs every command through root's login
      // shell, and bash reads ~/.bashrc for commands over SSH. This machine's /root/.bashrc may be
      // anything (here it evals `pyenv init`: 0.2 s per command natively, seconds under TCG), so
      // each box gets an empty home, bind-mounted over /root in the private mount namespace that
      // `ip netns exec` makes (nothing outside the box sees it; exec keeps the pid).
      const home = join(bdir, 'home');
      await mkdir(home, { mode: 0o700 });
      const child = execa(
        'ip',
        ['netns', 'exec', ns, 'sh', '-c', 'mount --bind "$1" /root && shift && exec "$@"', 'sh', home, '/usr/sbin/sshd', '-D', '-f', join(bdir, 'sshd_config'), '-E', logFile],
        { reject: false, stdin: 'ignore' },
      );
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

/**
 * A second NIC on every box for the tunnels' underlay: `eth1` in each box, joined by bridge `br1`
 * in the client namespace (plain L2, no address there), so the SSH management network (eth0) and
 * the underlay are apart as on many real servers. Addresses are left to the caller (e.g. the
 * admin's OVS bridge in startServiceOvs). Removed with the namespaces by lab.teardown().
 */
export async function addUnderlayNics(lab: SshLab): Promise<void> {
  await sh(['ip', '-n', lab.clientNs, 'link', 'add', 'br1', 'type', 'bridge']);
  await sh(['ip', '-n', lab.clientNs, 'link', 'set', 'br1', 'up']);
  for (const b of lab.boxes) {
    await sh(['ip', '-n', lab.clientNs, 'link', 'add', `u-${b.name}`, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', b.ns]);
    await sh(['ip', '-n', lab.clientNs, 'link', 'set', `u-${b.name}`, 'master', 'br1', 'up']);
    await sh(['ip', '-n', b.ns, 'link', 'set', 'eth1', 'up']);
  }
}

/** "The machine's OVS service, installed and configured by its admin" on one box (test fixture). */
export interface ServiceOvs {
  box: string;
  /** OVS_RUNDIR of the service: db.sock, pidfiles, unixctl sockets, bridges' .mgmt sockets. */
  runDir: string;
  dbSocket: string;
  /** ovs-vsctl against this service (from the root namespace; the db socket is a file). */
  vsctl(args: string[]): Promise<string>;
  /** Stop both daemons (graceful, then SIGKILL by pidfile) and remove the directory. Never throws. */
  stop(): Promise<void>;
}

export interface ServiceOvsOptions {
  /** Address the admin puts on the underlay bridge (native tunnelling), e.g. 192.0.2.11/24. */
  underlayAddress?: string;
  /** The admin's underlay bridge (holding eth1); default br-phy. */
  underlayBridge?: string;
  /** Bridges of the admin's own that the lab must never touch. */
  userBridges?: string[];
  /** Start only ovsdb-server (a broken service: the switch daemon is down). */
  noVswitchd?: boolean;
  /**
   * The datapath the admin's service runs (default netdev: this machine's kernel has no
   * openvswitch module). `system` (VM tier): the module is loaded as the distribution's service
   * does, the admin's bridges get the default (empty = system) datapath_type, and the underlay
   * address stays on eth1 itself: the kernel datapath sends tunnel packets through the machine's
   * own routing, so there is no underlay bridge (native tunnelling is a userspace-datapath thing).
   */
  datapath?: 'netdev' | 'system';
}

/**
 * ovsdb-server + ovs-vswitchd in box `box`'s namespace, laid out like a distribution's service
 * (default pidfile and unixctl names inside one OVS_RUNDIR), userspace datapath because this
 * kernel has no openvswitch module. With `underlayAddress`: eth1 in a netdev bridge owning that
 * address (the admin's native tunnelling setup).
 */
export async function startServiceOvs(lab: SshLab, box: string, o: ServiceOvsOptions = {}): Promise<ServiceOvs> {
  const b = lab.boxes.find((x) => x.name === box);
  if (!b) throw new Error(`no box ${box}`);
  const runDir = join(lab.dir, box, 'ovs');
  const dbSocket = join(runDir, 'db.sock');
  const env = { ...process.env, OVS_RUNDIR: runDir, OVS_DBDIR: runDir, OVS_LOGDIR: runDir };
  const run = async (argv: string[]) => {
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', env });
    if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    return String(r.stdout);
  };
  const inBox = (argv: string[]) => run(['ip', 'netns', 'exec', b.ns, ...argv]);
  const vsctl = (args: string[]) => run(['ovs-vsctl', `--db=unix:${dbSocket}`, '--timeout=10', ...args]);
  // Without ovs-vswitchd nothing would ever acknowledge a change: the admin's setup is then written only.
  const setup = (args: string[]) => vsctl(o.noVswitchd ? ['--no-wait', ...args] : args);
  const stop = async () => {
    const appctl = (target: string, ...args: string[]) =>
      execa('ovs-appctl', ['--timeout=5', '-t', target, ...args], { reject: false, stdin: 'ignore', env });
    await appctl('ovs-vswitchd', 'exit', '--cleanup');
    await appctl('ovsdb-server', 'exit');
    for (const pidfile of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) {
      const pid = Number((await readFile(join(runDir, pidfile), 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await rm(runDir, { recursive: true, force: true });
  };
  const system = o.datapath === 'system';
  await mkdir(runDir, { recursive: true });
  try {
    // What openvswitch-switch's ovs-ctl does before starting vswitchd on the kernel datapath.
    if (system) await run(['modprobe', 'openvswitch']);
    await run(['ovsdb-tool', 'create', join(runDir, 'conf.db')]);
    await inBox(['ovsdb-server', join(runDir, 'conf.db'), `--remote=punix:${dbSocket}`, '--pidfile', '--log-file', '--no-chdir', '--detach']);
    await vsctl(['--no-wait', 'init']);
    if (!o.noVswitchd) await inBox(['ovs-vswitchd', `unix:${dbSocket}`, '--pidfile', '--log-file', '--no-chdir', '--detach']);
    if (o.underlayAddress && system) {
      await sh(['ip', '-n', b.ns, 'addr', 'add', o.underlayAddress, 'dev', 'eth1']);
    } else if (o.underlayAddress) {
      const br = o.underlayBridge ?? 'br-phy';
      await setup(['add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', '--', 'add-port', br, 'eth1']);
      // With the switch daemon down there is no bridge netdev to hold the address: keep it on the NIC.
      await sh(['ip', '-n', b.ns, 'addr', 'add', o.underlayAddress, 'dev', o.noVswitchd ? 'eth1' : br]);
      await sh(['ip', '-n', b.ns, 'link', 'set', o.noVswitchd ? 'eth1' : br, 'up']);
    }
    for (const br of o.userBridges ?? [])
      await setup(['add-br', br, '--', 'set', 'bridge', br, ...(system ? [] : ['datapath_type=netdev']), 'external_ids:owner=admin']);
  } catch (e) {
    await stop();
    throw e;
  }
  return { box, runDir, dbSocket, vsctl, stop };
}
