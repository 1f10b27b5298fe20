import test from 'ava';
import { renderOp, commandArgv, batchLine, renderShell } from '../../../lib/backends/iproute2/render.js';
import { parseIpFailure } from '../../../lib/backends/iproute2/errors.js';
import type { Op } from '../../../lib/plan/ops.js';

const argvs = (op: Op) => renderOp(op).map(commandArgv);

test('netns.add creates, brings lo up and tags lo with the lab', (t) => {
  t.deepEqual(argvs({ op: 'netns.add', ns: 'gl-q-box-1', tag: 'geneve-lab:q' }), [
    ['ip', 'netns', 'add', 'gl-q-box-1'],
    ['ip', '-n', 'gl-q-box-1', 'link', 'set', 'lo', 'up'],
    ['ip', '-n', 'gl-q-box-1', 'link', 'set', 'lo', 'alias', 'geneve-lab:q'],
  ]);
});

test('veth with the peer created directly in another namespace, both tagged', (t) => {
  t.deepEqual(
    argvs({
      op: 'link.add',
      ns: 'gl-q-left',
      link: { kind: 'veth', name: 'eth0', mtu: 1450, alias: 'geneve-lab:q', peer: { name: 'left', ns: 'gl-q-box-1', mtu: 1450, alias: 'geneve-lab:q' } },
    }),
    [
      ['ip', '-n', 'gl-q-left', 'link', 'add', 'eth0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'left', 'netns', 'gl-q-box-1', 'mtu', '1450'],
      ['ip', '-n', 'gl-q-left', 'link', 'set', 'eth0', 'alias', 'geneve-lab:q'],
      ['ip', '-n', 'gl-q-box-1', 'link', 'set', 'left', 'alias', 'geneve-lab:q'],
    ],
  );
});

test('geneve with every iproute2-expressible tunable', (t) => {
  const [add] = argvs({
    op: 'link.add',
    ns: 'h',
    link: {
      kind: 'geneve',
      name: 'gnv0',
      geneve: {
        vni: 77, remote: '2001:db8::2', ttl: 33, tos: 0x28, df: 'set', flowlabel: 0x12345, dstport: 7000,
        udp6zerocsumtx: true, udp6zerocsumrx: false, innerprotoinherit: true,
      },
    },
  });
  t.deepEqual(add, [
    'ip', '-n', 'h', 'link', 'add', 'gnv0', 'type', 'geneve', 'id', '77', 'remote', '2001:db8::2', 'ttl', '33', 'tos', '0x28',
    'df', 'set', 'flowlabel', '0x12345', 'dstport', '7000', 'udp6zerocsumtx', 'noudp6zerocsumrx', 'innerprotoinherit',
  ]);
});

test('geneve inherit keywords and external mode', (t) => {
  t.deepEqual(argvs({ op: 'link.add', ns: 'h', link: { kind: 'geneve', name: 'g', geneve: { vni: 1, remote: '192.0.2.2', ttl: 'inherit', tos: 'inherit', df: 'inherit' } } })[0]!.slice(7), [
    'geneve', 'id', '1', 'remote', '192.0.2.2', 'ttl', 'inherit', 'tos', 'inherit', 'df', 'inherit',
  ]);
  t.deepEqual(argvs({ op: 'link.add', ns: 'h', link: { kind: 'geneve', name: 'g', geneve: { external: true, dstport: 6081 } } })[0]!.slice(7), [
    'geneve', 'external', 'dstport', '6081',
  ]);
});

test('geneve source-port range has no iproute2 keyword: a clear error, not a silent drop', (t) => {
  const e = t.throws(() => renderOp({ op: 'link.add', ns: 'h', link: { kind: 'geneve', name: 'g', geneve: { vni: 1, remote: '192.0.2.2', srcport: { low: 1000, high: 2000 } } } }));
  t.regex(e!.message, /PORT_RANGE.*netlink/);
});

test('vxlan always names its destination port (else the kernel uses legacy 8472)', (t) => {
  t.deepEqual(argvs({ op: 'link.add', ns: 'h', link: { kind: 'vxlan', name: 'vx', vxlan: { vni: 123, remote: '192.0.2.12', local: '192.0.2.11', learning: false, srcport: { low: 5000, high: 6000 } } } })[0], [
    'ip', '-n', 'h', 'link', 'add', 'vx', 'type', 'vxlan', 'id', '123', 'remote', '192.0.2.12', 'local', '192.0.2.11', 'dstport', '4789', 'nolearning', 'srcport', '5000', '6000',
  ]);
});

test('addresses: nodad only for IPv6; IPv6 default routes are ::/0 (batch mode has no -6)', (t) => {
  t.deepEqual(argvs({ op: 'addr.add', ns: 'g', dev: 'eth0', address: '2001:db8::1/64', nodad: true })[0], ['ip', '-n', 'g', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
  t.deepEqual(argvs({ op: 'addr.add', ns: 'g', dev: 'eth0', address: '192.0.2.1/24', nodad: true })[0], ['ip', '-n', 'g', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  t.deepEqual(argvs({ op: 'route.add', ns: 'g', to: 'default', via: '2001:db8::ff', dev: 'eth0' })[0], ['ip', '-n', 'g', 'route', 'add', '::/0', 'via', '2001:db8::ff', 'dev', 'eth0']);
  t.deepEqual(argvs({ op: 'route.add', ns: 'g', to: '2001:db8:5::/64', via: '2001:db8::ff' })[0], ['ip', '-n', 'g', 'route', 'add', '2001:db8:5::/64', 'via', '2001:db8::ff']);
});

test('offload and sysctl run inside the namespace', (t) => {
  t.deepEqual(argvs({ op: 'offload.set', ns: 'g', dev: 'eth0', features: { tx: false, tso: true } })[0], ['ip', 'netns', 'exec', 'g', 'ethtool', '-K', 'eth0', 'tx', 'off', 'tso', 'on']);
  t.deepEqual(argvs({ op: 'sysctl.set', ns: 'g', key: 'net.ipv4.ip_forward', value: '1' })[0], ['ip', 'netns', 'exec', 'g', 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  // ifPresent (a device's IPv6 on a kernel that may lack IPv6): sysctl -e skips an unknown key.
  t.deepEqual(argvs({ op: 'sysctl.set', ns: 'g', key: 'net/ipv6/conf/p/disable_ipv6', value: '1', ifPresent: true })[0], ['ip', 'netns', 'exec', 'g', 'sysctl', '-q', '-e', '-w', 'net/ipv6/conf/p/disable_ipv6=1']);
});

test('batch lines refuse arguments the batch tokenizer would change', (t) => {
  t.is(batchLine(['link', 'set', 'x', 'up']), 'link set x up');
  t.is(batchLine(['link', 'set', 'x', 'alias', 'a b']), undefined);
  t.is(batchLine(['link', 'set', 'x', 'alias', 'a#b']), undefined);
});

test('shell rendering quotes values and groups by subject', (t) => {
  const sh = renderShell([{ subject: 'guest "left"', op: { op: 'link.set', ns: 'gl-q-left', name: 'eth0', alias: "it's", up: true } }]);
  t.true(sh.startsWith('#!/bin/sh\n'));
  t.true(sh.includes(`# guest "left"`));
  t.true(sh.includes(`ip -n gl-q-left link set dev eth0 alias 'it'\\''s' up`));
});

test('iproute2 failures: kernel extack text and errno are extracted', (t) => {
  t.deepEqual(parseIpFailure('Error: Geneve ID must be lower than 16777216.\nCommand failed -:3\n'), { kernelMessage: 'Geneve ID must be lower than 16777216', errno: 'ERANGE' });
  t.deepEqual(parseIpFailure('RTNETLINK answers: File exists\n'), { kernelMessage: 'File exists', errno: 'EEXIST' });
  t.deepEqual(parseIpFailure('Error: Unknown device type.\n'), { kernelMessage: 'Unknown device type', errno: 'EOPNOTSUPP' });
  t.is(parseIpFailure('Cannot find device "nope"\n').errno, 'ENODEV');
});
