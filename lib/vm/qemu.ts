/**
 * The qemu command line. Pure: the same inputs give the same argv, which the tests assert.
 *
 * Devices: one serial console (ttyS0, read by the host for markers and kept out of sight), a
 * virtio-serial controller with two ports for the command's stdout and stderr (binary-clean,
 * no tty line discipline; qemu connects them to unix sockets the host listens on), and one virtio-9p device per share. No network card: lab traffic
 * stays inside the VM.
 *
 * Machine: `microvm` (no PCI; every device on virtio-mmio) where it boots reliably, else `pc`.
 * Under TCG the PC machine spends ~0.9 s probing its virtio-pci devices and ~0.5 s more in the
 * kernel before /init (BENCHMARKS.md, "VM boot"). microvm has no HPET and no ACPI PM timer, so a
 * TCG guest whose quick TSC calibration against the PIT fails (host vCPU threads descheduled at
 * the wrong moment: 2–3 boots in 10 on a 2-core host) has nothing to fall back on and hangs
 * before /init; given the TSC frequency on its command line (`tsc_early_khz`; a TCG guest reads
 * the host's TSC) it never calibrates (0 hangs in 15 boots). So: microvm when that frequency is
 * known (run.ts reads it from the host), the PC machine otherwise.
 */
import { PORT, TAG } from './markers.js';

export type Accel = 'kvm' | 'tcg';

export interface Share {
  tag: string;
  hostPath: string;
  readonly: boolean;
  /** Needed when the share spans several host filesystems (the host root: /proc, /sys, …). */
  remapDevices?: boolean;
}

export interface QemuConfig {
  qemu?: string;
  accel: Accel;
  memoryMb: number;
  cpus: number;
  kernel: string;
  initrd: string;
  shares: readonly Share[];
  /** Unix sockets (listened on by the host) receiving the command's stdout and stderr. */
  stdoutSocket: string;
  stderrSocket: string;
  extraKernelArgs?: readonly string[];
  /** Boot a microvm (virtio-mmio devices) with this TSC frequency; absent: the PC machine (virtio-pci). */
  microvm?: { tscKhz: number };
}

/** qemu's option syntax splits on commas; a literal comma is written twice. */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * `quiet`: console noise costs time under TCG and is hidden anyway. `panic=-1` with qemu's
 * `-no-reboot` turns a panic into a prompt qemu exit instead of a hang.
 */
export function kernelCommandLine(extra: readonly string[] = [], microvm?: { tscKhz: number }): string {
  // microvm: pci=off (there is no PCI bus; the kernel would print "PCI: Fatal: No config space
  // access function found"), the TSC frequency so that the kernel never calibrates it, and
  // tsc=reliable: a TCG guest's TSC is the host's constant TSC, the same on every vCPU, but the
  // kernel's sync check between vCPU threads fails under emulation and would leave a microvm
  // (no HPET, no ACPI PM timer) on the jiffies clock — 4 ms steps in every RTT and timestamp.
  const machine = microvm ? ['pci=off', `tsc_early_khz=${microvm.tscKhz}`, 'tsc=reliable'] : [];
  return ['console=ttyS0', 'quiet', 'panic=-1', '8250.nr_uarts=1', 'i8042.noaux', 'i8042.nokbd', ...machine, ...extra].join(' ');
}

export function accelArgs(accel: Accel): string[] {
  // Multi-threaded TCG uses both host cores; KVM passes the host CPU through.
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
}

/** A virtio device of the machine's transport: `virtio-9p` → virtio-9p-device (microvm) or virtio-9p-pci. */
function virtioDevice(kind: string, microvm: boolean): string {
  return `${kind}-${microvm ? 'device' : 'pci'}`;
}

export function shareArgs(share: Share, index: number, microvm = false): string[] {
  const id = `fs${index}`;
  const fsdev = [
    'local',
    `id=${id}`,
    `path=${qemuOptValue(share.hostPath)}`,
    'security_model=none',
    ...(share.readonly ? ['readonly=on'] : []),
    ...(share.remapDevices ? ['multidevs=remap'] : []),
  ].join(',');
  return ['-fsdev', fsdev, '-device', `${virtioDevice('virtio-9p', microvm)},fsdev=${id},mount_tag=${qemuOptValue(share.tag)}`];
}

export function qemuArgv(c: QemuConfig): string[] {
  if (!Number.isInteger(c.memoryMb) || c.memoryMb < 256) throw new Error(`memory must be an integer ≥ 256 MB, got ${c.memoryMb}`);
  if (!Number.isInteger(c.cpus) || c.cpus < 1) throw new Error(`cpus must be an integer ≥ 1, got ${c.cpus}`);
  if (c.microvm && !(Number.isInteger(c.microvm.tscKhz) && c.microvm.tscKhz > 0)) throw new Error(`the TSC frequency must be a positive integer in kHz, got ${c.microvm.tscKhz}`);
  const micro = Boolean(c.microvm);
  const tags = new Set<string>();
  for (const s of c.shares) {
    if (tags.has(s.tag)) throw new Error(`two shares use the mount tag ${s.tag}`);
    tags.add(s.tag);
  }
  return [
    c.qemu ?? 'qemu-system-x86_64',
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-no-reboot',
    '-machine', micro ? 'microvm' : 'pc',
    ...accelArgs(c.accel),
    '-m', String(c.memoryMb),
    '-smp', String(c.cpus),
    '-kernel', c.kernel,
    '-initrd', c.initrd,
    '-append', kernelCommandLine(c.extraKernelArgs, c.microvm),
    '-nic', 'none',
    '-chardev', 'stdio,id=con,signal=off',
    '-serial', 'chardev:con',
    '-device', `${virtioDevice('virtio-serial', micro)},id=vser`,
    '-chardev', `socket,id=cmdout,path=${qemuOptValue(c.stdoutSocket)}`,
    '-device', `virtserialport,bus=vser.0,nr=1,chardev=cmdout,name=${PORT.stdout}`,
    '-chardev', `socket,id=cmderr,path=${qemuOptValue(c.stderrSocket)}`,
    '-device', `virtserialport,bus=vser.0,nr=2,chardev=cmderr,name=${PORT.stderr}`,
    ...c.shares.flatMap((s, i) => shareArgs(s, i, micro)),
  ];
}

/** The standard set of shares for a run. */
export function standardShares(p: { modulesDir: string; controlDir: string; resultsDir?: string }): Share[] {
  return [
    { tag: TAG.hostRoot, hostPath: '/', readonly: true, remapDevices: true },
    { tag: TAG.modules, hostPath: p.modulesDir, readonly: true },
    { tag: TAG.control, hostPath: p.controlDir, readonly: false },
    ...(p.resultsDir ? [{ tag: TAG.results, hostPath: p.resultsDir, readonly: false }] : []),
  ];
}
