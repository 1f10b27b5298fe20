import test from 'ava';
import { INITRAMFS_MODULES, moduleNameOf, parseShowDepends, showDependsArgv } from '../../../lib/vm/modules.js';

// Shape of real `modprobe --show-depends -a virtio_pci 9pnet_virtio 9p overlay` output
// (Debian 6.1): dependencies repeat across the requested modules.
const K = '/k/lib/modules/6.1.0-56-amd64/kernel';
const SAMPLE = `insmod ${K}/drivers/virtio/virtio_ring.ko 
insmod ${K}/drivers/virtio/virtio.ko 
insmod ${K}/drivers/virtio/virtio_pci_modern_dev.ko 
insmod ${K}/drivers/virtio/virtio_pci_legacy_dev.ko 
insmod ${K}/drivers/virtio/virtio_pci.ko 
insmod ${K}/drivers/virtio/virtio_ring.ko 
insmod ${K}/drivers/virtio/virtio.ko 
insmod ${K}/net/9p/9pnet.ko 
insmod ${K}/net/9p/9pnet_virtio.ko 
insmod ${K}/fs/netfs/netfs.ko 
insmod ${K}/fs/fscache/fscache.ko 
insmod ${K}/net/9p/9pnet.ko 
insmod ${K}/fs/9p/9p.ko 
builtin unix
insmod ${K}/fs/overlayfs/overlay.ko.xz debug=0
`;

test('dependency order is kept, each module once, builtins dropped', (t) => {
  t.deepEqual(
    parseShowDepends(SAMPLE).map((m) => m.name),
    ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p', 'overlay'],
  );
  t.is(parseShowDepends(SAMPLE).at(-1)!.path, `${K}/fs/overlayfs/overlay.ko.xz`);
});

test('every module comes after the modules it depends on', (t) => {
  const order = parseShowDepends(SAMPLE).map((m) => m.name);
  const before = (a: string, b: string) => order.indexOf(a) < order.indexOf(b);
  t.true(before('virtio', 'virtio_pci'));
  t.true(before('9pnet', '9pnet_virtio'));
  t.true(before('fscache', '9p'));
  t.true(before('netfs', 'fscache'));
});

test('unexpected output is an error, not a silently short list', (t) => {
  t.throws(() => parseShowDepends('modprobe: FATAL: Module nosuch not found\n'), { message: /unexpected line/ });
});

test('module names from compressed and plain files', (t) => {
  t.is(moduleNameOf('/a/geneve.ko'), 'geneve');
  t.is(moduleNameOf('/a/geneve.ko.zst'), 'geneve');
  t.is(moduleNameOf('/a/9pnet_virtio.ko.gz'), '9pnet_virtio');
});

test('the initramfs asks for virtio over PCI and MMIO (PC machine, microvm), 9p, overlay, virtio console and tun', (t) => {
  t.deepEqual(showDependsArgv('/b', '6.1.0-56-amd64', INITRAMFS_MODULES), [
    'modprobe', '--show-depends', '-d', '/b', '-S', '6.1.0-56-amd64', '-a', 'virtio_pci', 'virtio_mmio', '9pnet_virtio', '9p', 'overlay', 'virtio_console', 'tun',
  ]);
});
