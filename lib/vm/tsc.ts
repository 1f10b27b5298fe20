/**
 * The host's TSC frequency, which a TCG guest needs on its command line to boot as a microvm
 * (lib/vm/qemu.ts explains why). Under TCG the guest's TSC is the host's, so the host's figure is
 * the guest's. /proc/cpuinfo's "cpu MHz" is that figure only where the kernel has no APERF/MPERF
 * to measure the running frequency with (virtual machines, like the CI machines) or knows the
 * TSC frequency outright (`tsc_known_freq`); on bare metal with frequency scaling it is the
 * current clock, not the TSC's — then there is no trustworthy figure and the PC machine is used.
 */
import { readFileSync } from 'node:fs';

/** kHz of the TSC according to a /proc/cpuinfo text, or undefined when it cannot be trusted. */
export function tscKhzFromCpuinfo(cpuinfo: string): number | undefined {
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(first)?.[1] ?? '').split(/\s+/));
  if (!flags.has('tsc') || !flags.has('constant_tsc')) return undefined;
  if (flags.has('aperfmperf') && !flags.has('tsc_known_freq')) return undefined;
  const mhz = Number(/^cpu MHz\s*:\s*([0-9.]+)\s*$/m.exec(first)?.[1]);
  if (!Number.isFinite(mhz) || mhz < 100 || mhz > 10_000) return undefined;
  return Math.round(mhz * 1000);
}

export function hostTscKhz(): number | undefined {
  try {
    return tscKhzFromCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}
