/**
 * The host TSC frequency that lets a TCG guest boot as a microvm (lib/vm/tsc.ts), and the choice
 * of machine in lib/vm/run.ts: trusted only where /proc/cpuinfo's "cpu MHz" is the TSC's.
 */
import test from 'ava';
import { tscKhzFromCpuinfo } from '../../../lib/vm/tsc.js';
import { machineFor } from '../../../lib/vm/run.js';

const cpu = (flags: string, mhz = '2445.404') => `processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: ${mhz}\nflags\t\t: fpu ${flags}\n\nprocessor\t: 1\ncpu MHz\t\t: 1.000\nflags\t\t: fpu\n`;

test('a VM host (constant TSC, no APERF/MPERF): cpu MHz is the TSC frequency', (t) => {
  t.is(tscKhzFromCpuinfo(cpu('tsc constant_tsc nonstop_tsc tsc_known_freq hypervisor')), 2445404);
  t.is(tscKhzFromCpuinfo(cpu('tsc constant_tsc')), 2445404);
});

test('bare metal with APERF/MPERF: cpu MHz is the running clock, not trusted unless the TSC frequency is known', (t) => {
  t.is(tscKhzFromCpuinfo(cpu('tsc constant_tsc aperfmperf', '1199.998')), undefined);
  t.is(tscKhzFromCpuinfo(cpu('tsc constant_tsc aperfmperf tsc_known_freq', '2400.000')), 2400000);
});

test('no constant TSC, no TSC, or no sensible figure: unknown', (t) => {
  t.is(tscKhzFromCpuinfo(cpu('tsc')), undefined);
  t.is(tscKhzFromCpuinfo(cpu('constant_tsc')), undefined);
  t.is(tscKhzFromCpuinfo(cpu('tsc constant_tsc', '0.000')), undefined);
  t.is(tscKhzFromCpuinfo('processor : 0\n'), undefined);
});

test('machine: microvm under TCG with a known TSC; the PC machine under KVM, without one, or when GENEVE_LAB_VM_MACHINE=pc', (t) => {
  t.deepEqual(machineFor('tcg', {}, () => 2445404), { microvm: { tscKhz: 2445404 } });
  t.deepEqual(machineFor('tcg', {}, () => undefined), {});
  t.deepEqual(machineFor('kvm', {}, () => 2445404), {});
  t.deepEqual(machineFor('tcg', { GENEVE_LAB_VM_MACHINE: 'pc' }, () => 2445404), {});
});
