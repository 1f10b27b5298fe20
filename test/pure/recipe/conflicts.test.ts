/**
 * Issue 17, problem 9: tunnels on one host that the kernel cannot tell apart are validation
 * errors (before any change), located, naming both tunnels and the host. The VXLAN rules are
 * checked against this kernel in test/priv/chaos/kernel-conflicts.test.ts.
 */
import test from 'ava';
import { tryLoad, errorsOf } from './helpers.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';

const two = (first: string, second: string) => twoHostRecipe('c', `${first}\n  - { name: tun1, between: [sw1, sw2], ${second} }`);
const errs = (text: string) => errorsOf(tryLoad(text));

test('VXLAN: same VNI and port and family on one host is an error at the second tunnel', (t) => {
  const e = errs(two('type: vxlan\n    vni: 123', 'type: vxlan, vni: 123'));
  t.is(e.length, 1);
  t.is(e[0]!.path, 'tunnels[1].vni');
  t.regex(e[0]!.message, /tunnel "tun1" and tunnel "tun0" would both be VXLAN devices with VNI 123 on UDP port 4789 over ipv4 on host "box-1"; the kernel refuses the second one — give one of them another vni or dstport/);
  t.true(e[0]!.line > 0);
});

test('VXLAN: another VNI, another port or another family is fine', (t) => {
  t.deepEqual(errs(two('type: vxlan\n    vni: 123', 'type: vxlan, vni: 124')), []);
  t.deepEqual(errs(two('type: vxlan\n    vni: 123', 'type: vxlan, vni: 123, dstport: 4790')), []);
  t.deepEqual(errs(two('type: vxlan\n    vni: 123', 'type: vxlan, vni: 123, family: ipv6')), []);
});

test('VXLAN: an external device owns its port: a second external one and a keyed one both conflict', (t) => {
  t.regex(errs(two('type: vxlan\n    vni: 1\n    external: true', 'type: vxlan, vni: 2, external: true'))[0]?.message ?? '', /both be external \(collect-metadata\) VXLAN devices on UDP port 4789/);
  // The keyed device is created fine, then fails to come up (EADDRINUSE): seen on this kernel.
  t.regex(errs(two('type: vxlan\n    vni: 1\n    external: true', 'type: vxlan, vni: 2'))[0]?.message ?? '', /share UDP port 4789 with an external \(collect-metadata\) VXLAN device \(EADDRINUSE/);
  t.deepEqual(errs(two('type: vxlan\n    vni: 1\n    external: true', 'type: vxlan, vni: 2, dstport: 4790')), []);
});

test('Geneve: same remote and VNI and port is an error; another VNI is fine', (t) => {
  t.regex(errs(two('type: geneve\n    vni: 5', 'type: geneve, vni: 5'))[0]?.message ?? '', /both be Geneve devices with VNI 5 to remote 192\.0\.2\.12 on UDP port 6081 on host "box-1"/);
  t.deepEqual(errs(two('type: geneve\n    vni: 5', 'type: geneve, vni: 6')), []);
});

test('Geneve: an external device shares its port with no other Geneve device', (t) => {
  const e = errs(two('type: geneve\n    vni: 5\n    external: true', 'type: geneve, vni: 6'));
  t.is(e.length, 1);
  t.regex(e[0]!.message, /share UDP port 6081 with an external \(collect-metadata\) Geneve device/);
  t.deepEqual(errs(two('type: geneve\n    vni: 5\n    external: true', 'type: geneve, vni: 6, dstport: 6082')), []);
});

test('OVS tunnel ports are not kernel devices: not judged', (t) => {
  const text = two('type: geneve\n    vni: 5', 'type: geneve, vni: 5').replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }').replace('{ name: sw2, host: box-2 }', '{ name: sw2, host: box-2, kind: ovs }');
  t.deepEqual(errs(text), []);
});
