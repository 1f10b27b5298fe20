/**
 * One lab-shaped scenario, as plan Steps (for our backends) and as hand-written iproute2
 * commands (the independent reference for the equivalence test).
 */
import type { Op, Step } from '../../../lib/plan/ops.js';

let nextId = 1;
const step = (subject: string, op: Op, host = 'box-1'): Step => ({ id: nextId++, subject, host, op, undo: null });

export function scenarioSteps(a: string, b: string, tag: string): Step[] {
  nextId = 1;
  return [
    step(`namespace "${a}"`, { op: 'netns.add', ns: a, tag }),
    step(`namespace "${b}"`, { op: 'netns.add', ns: b, tag }, 'box-2'),
    step('underlay veth', {
      op: 'link.add',
      ns: a,
      link: { kind: 'veth', name: 'va', mtu: 1450, alias: 'to box-2', mac: '02:00:00:00:00:0a', peer: { name: 'vb', ns: b, mtu: 1450, alias: 'to box-1' } },
    }),
    step('bridge "br0"', { op: 'link.add', ns: b, link: { kind: 'bridge', name: 'br0', mtu: 1450 } }, 'box-2'),
    step('bridge port', { op: 'link.set', ns: b, name: 'vb', master: 'br0', up: true }, 'box-2'),
    step('bridge up', { op: 'link.set', ns: b, name: 'br0', up: true }, 'box-2'),
    step('veth up', { op: 'link.set', ns: a, name: 'va', up: true }),
    step('addr a4', { op: 'addr.add', ns: a, dev: 'va', address: '192.0.2.1/24' }),
    step('addr a6', { op: 'addr.add', ns: a, dev: 'va', address: '2001:db8::1/64', nodad: true }),
    step('addr b4', { op: 'addr.add', ns: b, dev: 'br0', address: '192.0.2.2/24' }, 'box-2'),
    step('addr b6', { op: 'addr.add', ns: b, dev: 'br0', address: '2001:db8::2/64', nodad: true }, 'box-2'),
    step('route via', { op: 'route.add', ns: a, to: '198.51.100.0/24', via: '192.0.2.2' }),
    step('default6', { op: 'route.add', ns: a, to: 'default', via: '2001:db8::2' }),
    step('route dev', { op: 'route.add', ns: b, to: '203.0.113.0/24', dev: 'br0' }, 'box-2'),
    step('tunnel "vx0"', {
      op: 'link.add',
      ns: a,
      link: {
        kind: 'vxlan',
        name: 'vx0',
        mtu: 1400,
        vxlan: { vni: 4242, remote: '192.0.2.2', local: '192.0.2.1', dstport: 4789, ttl: 17, tos: 0x10, learning: false, srcport: { low: 5000, high: 6000 }, df: 'set' },
      },
    }),
    step('tunnel "vx6"', {
      op: 'link.add',
      ns: b,
      link: { kind: 'vxlan', name: 'vx6', vxlan: { vni: 7, remote: '2001:db8::1', dstport: 8472, ttl: 'inherit', flowlabel: 0x12345, udp6zerocsumtx: true } },
    }, 'box-2'),
    step('tunnel up', { op: 'link.set', ns: a, name: 'vx0', up: true }),
    step('tunnel port', { op: 'link.set', ns: b, name: 'vx6', master: 'br0' }, 'box-2'),
    step('tunnel unport', { op: 'link.set', ns: b, name: 'vx6', master: null }, 'box-2'),
    step('forwarding', { op: 'sysctl.set', ns: a, key: 'net.ipv4.ip_forward', value: '1' }),
  ];
}

/** The same scenario written directly as `ip` commands (no code from lib/). */
export function scenarioIproute2(a: string, b: string, tag: string): string[][] {
  return [
    ['ip', 'netns', 'add', a],
    ['ip', '-n', a, 'link', 'set', 'lo', 'up', 'alias', tag],
    ['ip', 'netns', 'add', b],
    ['ip', '-n', b, 'link', 'set', 'lo', 'up', 'alias', tag],
    ['ip', '-n', a, 'link', 'add', 'va', 'mtu', '1450', 'address', '02:00:00:00:00:0a', 'type', 'veth', 'peer', 'name', 'vb', 'mtu', '1450', 'netns', b],
    ['ip', '-n', a, 'link', 'set', 'va', 'alias', 'to box-2'],
    ['ip', '-n', b, 'link', 'set', 'vb', 'alias', 'to box-1'],
    ['ip', '-n', b, 'link', 'add', 'br0', 'mtu', '1450', 'type', 'bridge'],
    ['ip', '-n', b, 'link', 'set', 'vb', 'master', 'br0', 'up'],
    ['ip', '-n', b, 'link', 'set', 'br0', 'up'],
    ['ip', '-n', a, 'link', 'set', 'va', 'up'],
    ['ip', '-n', a, 'addr', 'add', '192.0.2.1/24', 'dev', 'va'],
    ['ip', '-n', a, 'addr', 'add', '2001:db8::1/64', 'dev', 'va', 'nodad'],
    ['ip', '-n', b, 'addr', 'add', '192.0.2.2/24', 'dev', 'br0'],
    ['ip', '-n', b, 'addr', 'add', '2001:db8::2/64', 'dev', 'br0', 'nodad'],
    ['ip', '-n', a, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.2'],
    ['ip', '-n', a, 'route', 'add', 'default', 'via', '2001:db8::2'],
    ['ip', '-n', b, 'route', 'add', '203.0.113.0/24', 'dev', 'br0'],
    ['ip', '-n', a, 'link', 'add', 'vx0', 'mtu', '1400', 'type', 'vxlan', 'id', '4242', 'remote', '192.0.2.2', 'local', '192.0.2.1', 'dstport', '4789', 'ttl', '17', 'tos', '0x10', 'nolearning', 'srcport', '5000', '6000', 'df', 'set'],
    ['ip', '-n', b, 'link', 'add', 'vx6', 'type', 'vxlan', 'id', '7', 'remote', '2001:db8::1', 'dstport', '8472', 'ttl', 'inherit', 'flowlabel', '0x12345', 'udp6zerocsumtx'],
    ['ip', '-n', a, 'link', 'set', 'vx0', 'up'],
    ['ip', '-n', b, 'link', 'set', 'vx6', 'master', 'br0'],
    ['ip', '-n', b, 'link', 'set', 'vx6', 'nomaster'],
    ['ip', 'netns', 'exec', a, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'],
  ];
}
