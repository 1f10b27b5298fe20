#!/usr/bin/env -S node --import tsx
/**
 * libvirt and Vagrant confined to a lab network namespace, so that libvirt's bridges, dnsmasq,
 * NAT rules and guests never exist in the machine's root namespace. Run as root:
 *
 *   driver.ts up --owner PID [--box-dir DIR | --box FILE]
 *                                           create the lab; prints KEY=VALUE lines (below);
 *                                           DIR: an unpacked box (vagrant/box/build.ts --print-dir),
 *                                           linked in; FILE: a .box, added with `vagrant box add`
 *   driver.ts exec --lab LAB -- CMD ARG…    run a command inside the lab (vagrant, virsh, …)
 *   driver.ts console --lab LAB [--lines N] the last lines of each box's serial console
 *   driver.ts down --lab LAB [--save-logs DIR]  destroy everything the lab made
 *   driver.ts gc                            `down` for every lab whose owner and watchdog are gone
 *   driver.ts list                          the labs on this machine
 * LAB is the lab's work directory or its id. Environment: GL_VAGRANT_WORK (work directories,
 * default /var/tmp/geneve-lab/vagrant).
 *
 * `up` makes: a work directory holding lab.json (what exists, by identity), private copies of
 * libvirt's config/state/log/cache directories and a private VAGRANT_HOME; a network namespace
 * gl-vg-ID; virtlogd and libvirtd started inside it (vagrant/lab/libvirt-in-ns.sh) in a mount
 * namespace where those private directories replace the machine's; and a watchdog process that
 * runs `down` as soon as the owner process (--owner, e.g. vagrant/ci.sh's shell) is gone —
 * whatever killed it, SIGKILL included. `down` destroys the domains, deletes every volume, pool
 * and network of the lab's libvirtd, stops the daemons it started (by pid and start time), kills
 * whatever else still runs in the namespace, deletes the namespace and the work directory.
 *
 * `up` prints (one per line, no quoting needed: every value is a path or a number we made):
 *   LAB_ID LAB_NS LAB_WORKDIR LIBVIRTD_PID VIRTLOGD_PID VAGRANT_HOME VAGRANT_DOTFILE_PATH GL_CONSOLE_DIR
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, cmdline, netnsInode, procId, processesInNetns, stopProcesses, type ProcId } from './procs.js';
import { DEFAULT_WORK_BASE, TAG, newLabId, nsNameFor, readState, tryLock, writeState, type LabState } from './state.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../..');
const workBase = () => process.env.GL_VAGRANT_WORK || DEFAULT_WORK_BASE;

export class LabError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const say = (msg: string) => process.stderr.write(`lab: ${msg}\n`);

/** Run argv (no shell), capture output; never throws. */
function run(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: o.env ?? process.env, timeout: o.timeoutMs ?? 120_000, cwd: o.cwd });
  return { code: r.status ?? (r.error ? 127 : -1), stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error.message) : '') };
}

/** Programs `up` needs on this machine, with the Debian package that has each. */
const NEEDS: [string, string][] = [
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['libvirtd', 'libvirt-daemon-system libvirt-daemon-driver-qemu'],
  ['virtlogd', 'libvirt-daemon-system'],
  ['virsh', 'libvirt-clients'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['vagrant', 'vagrant vagrant-libvirt'],
];

export function missingPrograms(): string[] {
  return NEEDS.filter(([p]) => run(['sh', '-c', 'command -v "$1"', 'sh', p]).code !== 0).map(([p, pkg]) => `${p} (Debian: ${pkg})`);
}

export function labDir(lab: string): string {
  return lab.includes('/') ? resolve(lab) : join(workBase(), lab);
}

/** The environment every command of the lab runs with (Vagrant's private home, the console dir). */
export function labEnv(s: LabState, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    VAGRANT_HOME: join(s.workdir, 'vagrant.d'),
    VAGRANT_DOTFILE_PATH: join(s.workdir, 'dot'),
    VAGRANT_CHECKPOINT_DISABLE: '1',
    VAGRANT_DEFAULT_PROVIDER: 'libvirt',
    LIBVIRT_DEFAULT_URI: 'qemu:///system',
    GL_CONSOLE_DIR: join(s.workdir, 'console'),
    GL_LAB_NS: s.ns,
  };
}

/** argv prefix that runs a command inside the lab's network and mount namespaces. */
export function inLab(s: LabState, cwd = process.cwd()): string[] {
  if (!s.libvirtd || !alive(s.libvirtd)) throw new LabError(`lab ${s.id}: its libvirtd is not running (the lab was torn down or crashed)`);
  return ['nsenter', `--target=${s.libvirtd.pid}`, '--mount', '--net', `--wd=${cwd}`, '--'];
}

/**
 * libvirt's configuration for a lab: the machine's /etc/libvirt as a starting point, then
 * - qemu runs as root: /dev/kvm exists here but KVM guests hang, and with the packaged user
 *   libvirt 9 re-probes QEMU's capabilities every few seconds forever (`vagrant up` then hangs
 *   at "Updating domain definition"); domains use TCG (the Vagrantfile's driver "qemu");
 * - no cgroups, no per-domain mount namespace, no security driver: none of them exist or work
 *   inside a network namespace on a machine without systemd, and the lab needs none of them;
 * - libvirt's own "default" network is not defined at all (no virbr0, even in the namespace);
 * - libvirtd logs to the lab's private log directory (kept with the results on failure).
 */
function prepareLibvirtConfig(workdir: string): void {
  const root = join(workdir, 'root');
  for (const d of ['var/lib/libvirt', 'var/log/libvirt', 'var/cache/libvirt']) mkdirSync(join(root, d), { recursive: true });
  cpSync('/etc/libvirt', join(root, 'etc/libvirt'), { recursive: true });
  const etc = join(root, 'etc/libvirt');
  appendFileSync(
    join(etc, 'qemu.conf'),
    [
      '',
      '# geneve-lab Vagrant lab (vagrant/lab/driver.ts)',
      'user = "root"',
      'group = "root"',
      'dynamic_ownership = 0',
      'remember_owner = 0',
      'cgroup_controllers = [ ]',
      'namespaces = [ ]',
      'security_driver = "none"',
      '',
    ].join('\n'),
  );
  appendFileSync(join(etc, 'libvirtd.conf'), '\n# geneve-lab Vagrant lab\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n');
  rmSync(join(etc, 'qemu/networks/default.xml'), { force: true });
  rmSync(join(etc, 'qemu/networks/autostart'), { recursive: true, force: true });
  mkdirSync(join(etc, 'qemu/networks/autostart'), { recursive: true });
}

/** Start the watchdog: a detached process (own session) that cleans up when the owner is gone. */
function startWatchdog(s: LabState): ProcId {
  const log = openSync(join(s.workdir, 'watchdog.log'), 'a');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'watchdog', '--lab', s.workdir], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: ROOT,
  });
  child.unref();
  const id = procId(child.pid!);
  if (!id) throw new LabError('the watchdog process did not start');
  return id;
}

export const DEFAULT_BOX_NAME = 'geneve-lab/debian12';
/** The files of an unpacked libvirt box (vagrant/box/build.ts BOX_MEMBERS). */
const BOX_MEMBERS = ['metadata.json', 'Vagrantfile', 'box.img', 'vmlinux', 'initrd.img'];

/** Hard link `from` at `to`, or copy it when they are on different file systems. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(from, to);
  }
}

/**
 * vagrant-libvirt's name for a box's base volume in the storage pool: box name, version (an
 * unversioned box is "0_" + box.img's mtime in seconds) and disk name (see its
 * action/handle_box_image.rb, get_volume_name).
 */
export function baseVolumeName(boxName: string, boxImgMtimeSec: number): string {
  return `${boxName.replaceAll('/', '-VAGRANTSLASH-')}_vagrant_box_image_0_${boxImgMtimeSec}_box.img`;
}

/**
 * Put the unpacked box where `vagrant box add` and vagrant-libvirt's first `up` would copy it —
 * the lab's VAGRANT_HOME (boxes/NAME/0/libvirt) and the libvirt pool "default" as the base
 * volume — by hard links instead of copies (~500 MB twice, ~70 s per run under load). The
 * files are read-only; the boxes write to their own copy-on-write overlays.
 */
function linkBox(s: LabState, boxDir: string, name: string): void {
  for (const f of BOX_MEMBERS) if (!existsSync(join(boxDir, f))) throw new LabError(`${boxDir} is not an unpacked libvirt box: ${f} is missing`);
  const home = join(labEnv(s, {}).VAGRANT_HOME!, 'boxes', name.replaceAll('/', '-VAGRANTSLASH-'), '0', 'libvirt');
  mkdirSync(home, { recursive: true });
  for (const f of BOX_MEMBERS) linkOrCopy(join(boxDir, f), join(home, f));
  const mtime = Math.trunc(statSync(join(home, 'box.img')).mtimeMs / 1000);
  const images = join(s.workdir, 'root/var/lib/libvirt/images');
  mkdirSync(images, { recursive: true });
  linkOrCopy(join(boxDir, 'box.img'), join(images, baseVolumeName(name, mtime)));
  s.box = { name, file: boxDir };
  writeState(s);
  const p = inLab(s, '/');
  for (const argv of [
    ['virsh', 'pool-define-as', 'default', 'dir', '--target', '/var/lib/libvirt/images'],
    ['virsh', 'pool-start', 'default'],
  ]) {
    const r = run([...p, ...argv]);
    if (r.code !== 0) throw new LabError(`${argv.join(' ')} in the lab failed: ${r.stderr.trim()}`);
  }
}

export interface UpResult {
  state: LabState;
  vars: Record<string, string>;
}

export async function up(o: { owner: number; box?: string; boxDir?: string; boxName?: string }): Promise<UpResult> {
  const missing = missingPrograms();
  if (missing.length) throw new LabError(`cannot run a Vagrant lab here: missing ${missing.join(', ')}`, 3);
  const owner = procId(o.owner);
  if (!owner) throw new LabError(`owner process ${o.owner} does not exist`, 2);
  const id = newLabId();
  const workdir = join(workBase(), id);
  mkdirSync(workdir, { recursive: true });
  const s: LabState = { tag: TAG, id, ns: nsNameFor(id), workdir, createdAt: new Date().toISOString(), owner };
  writeState(s);
  try {
    s.watchdog = startWatchdog(s);
    writeState(s);
    prepareLibvirtConfig(workdir);
    for (const d of ['vagrant.d', 'dot', 'console']) mkdirSync(join(workdir, d), { recursive: true });

    const add = run(['ip', 'netns', 'add', s.ns]);
    if (add.code !== 0) throw new LabError(`ip netns add ${s.ns} failed: ${add.stderr.trim()}`);
    s.nsInode = netnsInode(`/run/netns/${s.ns}`);
    writeState(s);

    const started = run(['ip', 'netns', 'exec', s.ns, join(HERE, 'libvirt-in-ns.sh'), workdir], { timeoutMs: 60_000 });
    // Record whatever started, even when the script then failed, so `down` stops it.
    const pidOf = (k: string) => {
      const m = new RegExp(`^${k}=(\\d+)$`, 'm').exec(started.stdout) ?? undefined;
      const f = join(workdir, `${k === 'LIBVIRTD_PID' ? 'libvirtd' : 'virtlogd'}.pid`);
      const n = m ? Number(m[1]) : existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : NaN;
      return Number.isInteger(n) ? procId(n) : undefined;
    };
    s.virtlogd = pidOf('VIRTLOGD_PID');
    s.libvirtd = pidOf('LIBVIRTD_PID');
    writeState(s);
    if (started.code !== 0 || !s.libvirtd) throw new LabError(`starting libvirt in ${s.ns} failed: ${started.stderr.trim() || `exit ${started.code}`}`);

    if (o.boxDir) {
      const t0 = Date.now();
      linkBox(s, o.boxDir, o.boxName ?? DEFAULT_BOX_NAME);
      say(`box ${s.box!.name} linked into the lab (VAGRANT_HOME and libvirt pool) in ${Date.now() - t0} ms`);
    } else if (o.box) {
      const name = o.boxName ?? DEFAULT_BOX_NAME;
      const t0 = Date.now();
      const r = run(['vagrant', 'box', 'add', '--force', '--name', name, o.box], { env: labEnv(s), timeoutMs: 600_000 });
      if (r.code !== 0) throw new LabError(`vagrant box add ${o.box} failed:\n${(r.stderr || r.stdout).trim()}`);
      s.box = { name, file: o.box };
      writeState(s);
      say(`box ${name} added to the lab's VAGRANT_HOME in ${Math.round((Date.now() - t0) / 100) / 10} s`);
    }
    const env = labEnv(s, {});
    return {
      state: s,
      vars: {
        LAB_ID: s.id,
        LAB_NS: s.ns,
        LAB_WORKDIR: s.workdir,
        LIBVIRTD_PID: String(s.libvirtd.pid),
        VIRTLOGD_PID: String(s.virtlogd?.pid ?? ''),
        VAGRANT_HOME: env.VAGRANT_HOME!,
        VAGRANT_DOTFILE_PATH: env.VAGRANT_DOTFILE_PATH!,
        GL_CONSOLE_DIR: env.GL_CONSOLE_DIR!,
      },
    };
  } catch (e) {
    say(`up failed, removing what was made: ${(e as Error).message}`);
    await down(workdir);
    throw e;
  }
}

/** The names virsh lists (one per line), or [] when virsh fails. */
function virshNames(prefix: string[], args: string[]): string[] {
  const r = run([...prefix, 'virsh', '-q', ...args], { timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

export interface DownReport {
  domains: string[];
  volumes: string[];
  pools: string[];
  networks: string[];
  stopped: string[];
  killed: string[];
  problems: string[];
}

/** Copy the logs worth keeping after a failure (serial consoles, libvirtd, qemu) to `dir`. */
function saveLogs(workdir: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [from, to] of [
    ['console', 'console'],
    ['root/var/log/libvirt', 'libvirt'],
  ] as const)
    if (existsSync(join(workdir, from))) cpSync(join(workdir, from), join(dir, to), { recursive: true });
  for (const f of ['watchdog.log']) if (existsSync(join(workdir, f))) cpSync(join(workdir, f), join(dir, f));
}

/**
 * Remove everything the lab made. Safe to call again, and from another process while the first
 * is working (the second waits for the first). Returns what it removed and what it could not.
 */
export async function down(workdir: string, o: { saveLogs?: string } = {}): Promise<DownReport> {
  const rep: DownReport = { domains: [], volumes: [], pools: [], networks: [], stopped: [], killed: [], problems: [] };
  const s = readState(workdir);
  if (!s) {
    if (existsSync(workdir)) rep.problems.push(`${workdir} has no ${TAG} record (lab.json): not touched`);
    return rep;
  }
  let release = tryLock(workdir);
  for (let i = 0; !release && i < 600; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (!readState(workdir)) return rep; // the other cleaner finished
    release = tryLock(workdir);
  }
  if (!release) {
    rep.problems.push(`another process is still cleaning up ${workdir}`);
    return rep;
  }
  try {
    if (o.saveLogs) saveLogs(workdir, o.saveLogs);
    // 1. libvirt objects, through the lab's own libvirtd (everything it knows is the lab's).
    if (s.libvirtd && alive(s.libvirtd)) {
      const p = inLab(s, '/');
      for (const d of virshNames(p, ['list', '--all', '--name'])) {
        run([...p, 'virsh', 'destroy', d], { timeoutMs: 60_000 });
        const u = run([...p, 'virsh', 'undefine', '--nvram', '--remove-all-storage', d], { timeoutMs: 60_000 });
        const u2 = u.code === 0 ? u : run([...p, 'virsh', 'undefine', d], { timeoutMs: 60_000 });
        if (u2.code === 0) rep.domains.push(d);
        else rep.problems.push(`domain ${d}: ${u2.stderr.trim()}`);
      }
      for (const pool of virshNames(p, ['pool-list', '--all', '--name'])) {
        for (const line of virshNames(p, ['vol-list', pool])) {
          const vol = line.split(/\s+/)[0]!;
          const r = run([...p, 'virsh', 'vol-delete', '--pool', pool, vol]);
          if (r.code === 0) rep.volumes.push(`${pool}/${vol}`);
          else rep.problems.push(`volume ${pool}/${vol}: ${r.stderr.trim()}`);
        }
        run([...p, 'virsh', 'pool-destroy', pool]);
        const r = run([...p, 'virsh', 'pool-undefine', pool]);
        if (r.code === 0) rep.pools.push(pool);
        else rep.problems.push(`pool ${pool}: ${r.stderr.trim()}`);
      }
      for (const net of virshNames(p, ['net-list', '--all', '--name'])) {
        run([...p, 'virsh', 'net-destroy', net]);
        const r = run([...p, 'virsh', 'net-undefine', net]);
        if (r.code === 0) rep.networks.push(net);
        else rep.problems.push(`network ${net}: ${r.stderr.trim()}`);
      }
    }
    // 2. The daemons the lab started, by identity.
    for (const [name, id] of [['libvirtd', s.libvirtd], ['virtlogd', s.virtlogd]] as const) {
      if (!id || !alive(id)) continue;
      const left = await stopProcesses([id], 10_000);
      if (left.length) rep.problems.push(`${name} (pid ${id.pid}) survived SIGKILL`);
      else rep.stopped.push(`${name} ${id.pid}`);
    }
    // 3. Whatever else still runs in the lab's namespace (qemu of a crashed libvirtd, dnsmasq,
    //    vagrant, ssh, …): the namespace is the identity, not the process name.
    const nsPath = `/run/netns/${s.ns}`;
    const ino = s.nsInode ?? netnsInode(nsPath);
    if (ino !== undefined) {
      const rest = processesInNetns(ino);
      const names = rest.map((p) => `${basename(cmdline(p.pid).split(' ')[0] ?? '?')} ${p.pid}`);
      const left = await stopProcesses(rest, 5000);
      rep.killed.push(...names);
      for (const p of left) rep.problems.push(`process ${p.pid} (${cmdline(p.pid)}) in ${s.ns} survived SIGKILL`);
      // 4. The namespace itself, only if the name still means the namespace we made.
      if (existsSync(nsPath)) {
        if (netnsInode(nsPath) !== ino) rep.problems.push(`${nsPath} is not the namespace this lab created (inode changed): not deleted`);
        else {
          const r = run(['ip', 'netns', 'del', s.ns]);
          if (r.code !== 0) rep.problems.push(`ip netns del ${s.ns}: ${r.stderr.trim()}`);
        }
      }
    }
    // 5. The watchdog (unless that is us) and the work directory with the volumes' files.
    if (s.watchdog && s.watchdog.pid !== process.pid && alive(s.watchdog)) await stopProcesses([s.watchdog], 2000);
    if (rep.problems.length === 0) rmSync(workdir, { recursive: true, force: true });
    else rep.problems.push(`work directory ${workdir} kept for inspection; run \`driver.ts down --lab ${workdir}\` again`);
  } finally {
    if (existsSync(workdir)) release();
  }
  return rep;
}

export function describeDown(id: string, r: DownReport): string {
  const parts = [
    r.domains.length ? `domains ${r.domains.join(', ')}` : '',
    r.volumes.length ? `${r.volumes.length} volumes` : '',
    r.pools.length ? `pools ${r.pools.join(', ')}` : '',
    r.networks.length ? `networks ${r.networks.join(', ')}` : '',
    r.stopped.length ? `stopped ${r.stopped.join(', ')}` : '',
    r.killed.length ? `killed ${r.killed.join(', ')}` : '',
  ].filter(Boolean);
  return `lab ${id} removed${parts.length ? ': ' + parts.join('; ') : ''}${r.problems.length ? `\nPROBLEMS:\n  ${r.problems.join('\n  ')}` : ''}`;
}

/** Every lab record under the work base. */
export function listLabs(): LabState[] {
  const base = workBase();
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((e) => readState(join(base, e)))
    .filter((s): s is LabState => !!s);
}

/** `down` for every lab whose owner and watchdog are both gone (a crash, a killed CI run). */
export async function gc(): Promise<{ removed: string[]; problems: string[] }> {
  const out = { removed: [] as string[], problems: [] as string[] };
  for (const s of listLabs()) {
    if (alive(s.owner) || alive(s.watchdog)) continue;
    const r = await down(s.workdir);
    if (r.problems.length) out.problems.push(...r.problems.map((p) => `${s.id}: ${p}`));
    else out.removed.push(describeDown(s.id, r));
  }
  return out;
}

/** Poll the owner; when it is gone, clean up. Ends when the lab record is gone. */
async function watchdog(workdir: string): Promise<void> {
  for (;;) {
    const s = readState(workdir);
    if (!s) return;
    if (!alive(s.owner)) {
      process.stdout.write(`${new Date().toISOString()} owner ${s.owner.pid} is gone: removing lab ${s.id}\n`);
      const r = await down(workdir);
      process.stdout.write(describeDown(s.id, r) + '\n');
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The last `lines` lines of each box's serial console log. */
export function consoleTails(workdir: string, lines = 25): string {
  const dir = join(workdir, 'console');
  if (!existsSync(dir)) return '(no console logs)';
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const text = readFileSync(join(dir, f), 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    const tail = text.split('\n').filter((l) => l.trim()).slice(-lines);
    out.push(`--- ${f} (last ${tail.length} lines) ---`, ...tail);
  }
  return out.join('\n') || '(no console logs)';
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const opt = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const need = (name: string) => {
    const v = opt(name);
    if (!v) throw new LabError(`${cmd}: ${name} is required`, 2);
    return v;
  };
  if (cmd !== 'list' && cmd !== 'console' && process.getuid?.() !== 0) throw new LabError('run as root (network namespaces, libvirtd)', 3);
  switch (cmd) {
    case 'up': {
      const box = opt('--box');
      const boxDir = opt('--box-dir');
      const r = await up({ owner: Number(need('--owner')), ...(box ? { box: resolve(box) } : {}), ...(boxDir ? { boxDir: resolve(boxDir) } : {}) });
      for (const [k, v] of Object.entries(r.vars)) process.stdout.write(`${k}=${v}\n`);
      return 0;
    }
    case 'exec': {
      const s = readState(labDir(need('--lab')));
      if (!s) throw new LabError(`no lab ${opt('--lab')}`, 2);
      const i = rest.indexOf('--');
      if (i < 0 || i === rest.length - 1) throw new LabError('exec: give the command after --', 2);
      const argvIn = [...inLab(s), ...rest.slice(i + 1)];
      const r = spawnSync(argvIn[0]!, argvIn.slice(1), { stdio: 'inherit', env: labEnv(s) });
      return r.status ?? 1;
    }
    case 'console':
      process.stdout.write(consoleTails(labDir(need('--lab')), Number(opt('--lines') ?? 25)) + '\n');
      return 0;
    case 'down': {
      const dir = labDir(need('--lab'));
      const saveTo = opt('--save-logs');
      const r = await down(dir, saveTo ? { saveLogs: resolve(saveTo) } : {});
      process.stderr.write(describeDown(basename(dir), r) + '\n');
      return r.problems.length ? 1 : 0;
    }
    case 'gc': {
      const r = await gc();
      for (const l of r.removed) process.stderr.write(l + '\n');
      for (const p of r.problems) process.stderr.write(`gc: ${p}\n`);
      if (!r.removed.length && !r.problems.length) process.stderr.write('gc: nothing to remove\n');
      return r.problems.length ? 1 : 0;
    }
    case 'list':
      for (const s of listLabs())
        process.stdout.write(`${s.id}  ns ${s.ns}  owner ${s.owner.pid} ${alive(s.owner) ? 'running' : 'gone'}  watchdog ${alive(s.watchdog) ? 'running' : 'gone'}  ${s.workdir}\n`);
      return 0;
    case 'watchdog':
      await watchdog(labDir(need('--lab')));
      return 0;
    default:
      process.stderr.write('usage: driver.ts up --owner PID [--box-dir DIR | --box FILE] | exec --lab LAB -- CMD… | console --lab LAB | down --lab LAB | gc | list\n');
      return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`lab: ${(e as Error).message}\n`);
      process.exit(e instanceof LabError ? e.exitCode : 1);
    },
  );
}
