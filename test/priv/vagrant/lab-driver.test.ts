/**
 * The Vagrant lab driver against the real thing, without booting a box: a lab namespace with
 * its own virtlogd and libvirtd, a NAT network started inside it (the kind that would put a
 * bridge, dnsmasq, iptables rules and ip_forward=1 into the machine), and the root namespace
 * unchanged meanwhile; `down`, the watchdog (owner killed with SIGKILL) and `gc` (owner and
 * watchdog killed) each remove everything. The boxes themselves are the Vagrant tier's job.
 */
import { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cmdline, processesInNetns } from '../../../vagrant/lab/procs.js';
import { readState } from '../../../vagrant/lab/state.js';
import { privTest } from '../../support/priv.js';
import { diffSnapshots, snapshotRootNs } from '../../vagrant/root-ns.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const TOOLS = ['libvirtd', 'virtlogd', 'virsh', 'nsenter', 'iptables-save'];

function driver(work: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'vagrant/lab/driver.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GL_VAGRANT_WORK: work },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

interface Lab {
  work: string;
  owner: ChildProcess;
  vars: Record<string, string>;
  inLab: string[];
}

function labUp(t: ExecutionContext): Lab {
  const work = mkdtempSync(join(tmpdir(), 'gl-vglab-'));
  const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.teardown(() => {
    owner.kill('SIGKILL');
    // Whatever a failed assertion left: the driver removes it; then the temp dir.
    for (const id of existsSync(work) ? spawnSync('ls', [work], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean) : [])
      if (readState(join(work, id))) driver(work, ['down', '--lab', join(work, id)]);
    rmSync(work, { recursive: true, force: true });
  });
  const r = driver(work, ['up', '--owner', String(owner.pid)]);
  t.is(r.code, 0, r.stderr);
  const vars = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  return { work, owner, vars, inLab: ['nsenter', `--target=${vars.LIBVIRTD_PID}`, '--mount', '--net', '--'] };
}

function inLab(lab: Lab, argv: string[]) {
  const r = spawnSync(lab.inLab[0]!, [...lab.inLab.slice(1), ...argv], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Nothing of the lab left: work dir, namespace name, processes in it. */
function gone(lab: Lab, nsInode: number): string[] {
  const left: string[] = [];
  if (existsSync(lab.vars.LAB_WORKDIR!)) left.push(`work dir ${lab.vars.LAB_WORKDIR}`);
  if (existsSync(`/run/netns/${lab.vars.LAB_NS}`)) left.push(`namespace ${lab.vars.LAB_NS}`);
  left.push(...processesInNetns(nsInode).map((p) => `process ${p.pid}`));
  return left;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return cond();
}

privTest(
  'lab driver: libvirtd runs only in the lab namespace; a NAT network there changes nothing in the root namespace; down removes it all',
  async (t) => {
    const before = snapshotRootNs();
    const lab = labUp(t);
    const nsInode = statSync(`/run/netns/${lab.vars.LAB_NS}`).ino;
    t.is(statSync(`/proc/${lab.vars.LIBVIRTD_PID}/ns/net`).ino, nsInode, 'libvirtd is in the lab namespace');
    t.not(statSync('/proc/self/ns/net').ino, nsInode);
    t.false(existsSync('/run/libvirt/libvirt-sock'), "no libvirt socket in the machine's /run");

    // A NAT network: bridge, dnsmasq, iptables rules, ip_forward — everything libvirt's "default" network does.
    const xml = join(lab.vars.LAB_WORKDIR!, 'net.xml');
    writeFileSync(
      xml,
      `<network><name>gl-test-nat</name><forward mode='nat'/><bridge name='glvgt0'/>` +
        `<ip address='198.51.100.1' netmask='255.255.255.0'><dhcp><range start='198.51.100.10' end='198.51.100.20'/></dhcp></ip></network>`,
    );
    for (const argv of [['virsh', 'net-define', xml], ['virsh', 'net-start', 'gl-test-nat']]) {
      const r = inLab(lab, argv);
      t.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    }
    t.is(inLab(lab, ['ip', 'link', 'show', 'glvgt0']).code, 0, 'the bridge exists in the lab namespace');
    t.regex(inLab(lab, ['iptables-save']).stdout, /LIBVIRT|MASQUERADE/, "libvirt's NAT rules are in the lab namespace");
    t.is(inLab(lab, ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim(), '1');
    t.true(processesInNetns(nsInode).some((p) => /dnsmasq/.test(cmdline(p.pid))), 'dnsmasq runs in the lab namespace');
    t.deepEqual(diffSnapshots(before, snapshotRootNs()), [], 'root namespace unchanged while the lab runs');

    const down = driver(lab.work, ['down', '--lab', lab.vars.LAB_WORKDIR!]);
    t.is(down.code, 0, down.stderr);
    t.regex(down.stderr, /networks gl-test-nat/);
    t.regex(down.stderr, /stopped libvirtd \d+, virtlogd \d+/);
    t.deepEqual(gone(lab, nsInode), []);
    t.deepEqual(diffSnapshots(before, snapshotRootNs()), [], 'root namespace unchanged after down');
  },
  { tools: TOOLS },
);

privTest(
  'lab driver: when the owner is killed (SIGKILL), the watchdog removes the lab',
  async (t) => {
    const lab = labUp(t);
    const nsInode = statSync(`/run/netns/${lab.vars.LAB_NS}`).ino;
    t.is(inLab(lab, ['virsh', 'pool-define-as', 'default', 'dir', '--target', '/var/lib/libvirt/images']).code, 0);
    lab.owner.kill('SIGKILL');
    t.true(await until(() => gone(lab, nsInode).length === 0, 60_000), `left: ${gone(lab, nsInode).join(', ')}`);
  },
  { tools: TOOLS },
);

privTest(
  'lab driver: gc removes a lab whose owner and watchdog are both gone, and leaves a live lab alone',
  async (t) => {
    const dead = labUp(t);
    const live = labUp(t);
    const nsInode = statSync(`/run/netns/${dead.vars.LAB_NS}`).ino;
    const s = readState(dead.vars.LAB_WORKDIR!)!;
    process.kill(s.watchdog!.pid, 'SIGKILL');
    await until(() => !existsSync(`/proc/${s.watchdog!.pid}`), 5000);
    dead.owner.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    t.true(existsSync(dead.vars.LAB_WORKDIR!), 'nobody cleaned up yet (watchdog killed first)');
    // gc sees only labs under its work base: point it at each lab's base in turn.
    const r = driver(dead.work, ['gc']);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(gone(dead, nsInode), []);
    const r2 = driver(live.work, ['gc']);
    t.regex(r2.stderr, /nothing to remove/);
    t.true(existsSync(`/run/netns/${live.vars.LAB_NS}`), 'the live lab is untouched');
  },
  { tools: TOOLS },
);
