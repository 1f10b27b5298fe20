import test from 'ava';
import { kernelCommandLine, qemuArgv, qemuOptValue, standardShares, type QemuConfig } from '../../../lib/vm/qemu.js';

const base: QemuConfig = {
  accel: 'tcg',
  memoryMb: 2048,
  cpus: 2,
  kernel: '/c/vmlinux',
  initrd: '/c/initrd.gz',
  shares: standardShares({ modulesDir: '/c/lib/modules/6.1.0-56-amd64', controlDir: '/tmp/x/ctl', resultsDir: '/w/results' }),
  stdoutSocket: '/tmp/x/out.sock',
  stderrSocket: '/tmp/x/err.sock',
};

function valueAfter(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

test('TCG uses multi-threaded TCG and -cpu max; KVM uses -cpu host', (t) => {
  const tcg = qemuArgv(base);
  t.deepEqual(valueAfter(tcg, '-accel'), ['tcg,thread=multi']);
  t.deepEqual(valueAfter(tcg, '-cpu'), ['max']);
  const kvm = qemuArgv({ ...base, accel: 'kvm' });
  t.deepEqual(valueAfter(kvm, '-accel'), ['kvm']);
  t.deepEqual(valueAfter(kvm, '-cpu'), ['host']);
});

test('no network card, no reboot, serial console on stdio, quiet kernel that exits on panic', (t) => {
  const argv = qemuArgv(base);
  t.true(argv.includes('-nodefaults'));
  t.true(argv.includes('-no-reboot'));
  t.deepEqual(valueAfter(argv, '-nic'), ['none']);
  t.deepEqual(valueAfter(argv, '-serial'), ['chardev:con']);
  const append = valueAfter(argv, '-append')[0]!;
  t.regex(append, /(^| )console=ttyS0( |$)/);
  t.regex(append, /(^| )quiet( |$)/);
  t.regex(append, /(^| )panic=-1( |$)/);
  t.is(kernelCommandLine(['foo=1']).split(' ').at(-1), 'foo=1');
});

test('host root is shared read-only with device remapping; control and results read-write', (t) => {
  const argv = qemuArgv(base);
  const fsdevs = valueAfter(argv, '-fsdev');
  t.deepEqual(fsdevs, [
    'local,id=fs0,path=/,security_model=none,readonly=on,multidevs=remap',
    'local,id=fs1,path=/c/lib/modules/6.1.0-56-amd64,security_model=none,readonly=on',
    'local,id=fs2,path=/tmp/x/ctl,security_model=none',
    'local,id=fs3,path=/w/results,security_model=none',
  ]);
  const tags = valueAfter(argv, '-device').filter((d) => d.startsWith('virtio-9p'));
  t.deepEqual(tags, [
    'virtio-9p-pci,fsdev=fs0,mount_tag=hostroot',
    'virtio-9p-pci,fsdev=fs1,mount_tag=modules',
    'virtio-9p-pci,fsdev=fs2,mount_tag=glctl',
    'virtio-9p-pci,fsdev=fs3,mount_tag=results',
  ]);
});

test('the PC machine: virtio-pci devices, no microvm kernel arguments', (t) => {
  const argv = qemuArgv(base);
  t.deepEqual(valueAfter(argv, '-machine'), ['pc']);
  t.true(valueAfter(argv, '-device').includes('virtio-serial-pci,id=vser'));
  t.notRegex(valueAfter(argv, '-append')[0]!, /pci=off|tsc_early_khz|tsc=reliable/);
});

test('a microvm: no PCI bus, every device on virtio-mmio, the kernel told not to look for PCI and given the TSC frequency', (t) => {
  const argv = qemuArgv({ ...base, microvm: { tscKhz: 2445404 } });
  t.deepEqual(valueAfter(argv, '-machine'), ['microvm']);
  t.false(valueAfter(argv, '-device').some((d) => /-pci\b/.test(d)), valueAfter(argv, '-device').join(' '));
  t.true(valueAfter(argv, '-device').includes('virtio-serial-device,id=vser'));
  t.deepEqual(valueAfter(argv, '-device').filter((d) => d.startsWith('virtio-9p')).length, 4);
  t.true(valueAfter(argv, '-device').every((d) => !d.startsWith('virtio-9p') || d.startsWith('virtio-9p-device,')));
  const append = valueAfter(argv, '-append')[0]!;
  t.regex(append, /(^| )pci=off( |$)/);
  t.regex(append, /(^| )tsc_early_khz=2445404( |$)/);
  t.regex(append, /(^| )tsc=reliable( |$)/, 'the TSC as clocksource, not jiffies');
  t.throws(() => qemuArgv({ ...base, microvm: { tscKhz: 0 } }), { message: /TSC frequency/ });
});

test('stdout and stderr ports go to the host sockets', (t) => {
  const argv = qemuArgv(base);
  t.true(valueAfter(argv, '-chardev').includes('socket,id=cmdout,path=/tmp/x/out.sock'));
  t.true(valueAfter(argv, '-chardev').includes('socket,id=cmderr,path=/tmp/x/err.sock'));
  t.true(valueAfter(argv, '-device').includes('virtserialport,bus=vser.0,nr=1,chardev=cmdout,name=geneve-lab.stdout'));
});

test('commas in paths are doubled for qemu option syntax', (t) => {
  t.is(qemuOptValue('/a,b/c'), '/a,,b/c');
  const argv = qemuArgv({ ...base, shares: standardShares({ modulesDir: '/m', controlDir: '/odd,dir' }) });
  t.true(valueAfter(argv, '-fsdev').includes('local,id=fs2,path=/odd,,dir,security_model=none'));
});

test('no results share when none is asked for', (t) => {
  t.is(standardShares({ modulesDir: '/m', controlDir: '/c' }).length, 3);
});

test('bad sizes and duplicate tags are rejected', (t) => {
  t.throws(() => qemuArgv({ ...base, memoryMb: 100 }), { message: /memory must be an integer ≥ 256/ });
  t.throws(() => qemuArgv({ ...base, cpus: 0 }), { message: /cpus/ });
  t.throws(() => qemuArgv({ ...base, shares: [...base.shares, base.shares[0]!] }), { message: /mount tag hostroot/ });
});
