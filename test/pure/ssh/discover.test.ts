import test from 'ava';
import { findInterface } from '../../../lib/remote/discover.js';

// Shape of real `ip -j addr show` output (iproute2 6.x), trimmed.
const sample = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifindex: 3, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500,
    addr_info: [{ family: 'inet', local: '192.168.56.11', prefixlen: 24 }, { family: 'inet6', local: '2001:db8:0:0::11', prefixlen: 64 }] },
  { ifindex: 4, ifname: 'enp0s9', flags: ['BROADCAST'], mtu: 9000, addr_info: [{ family: 'inet', local: '198.51.100.7', prefixlen: 25 }] },
]);

test('findInterface: by address, with or without prefix; IPv6 in any spelling; down interfaces flagged', (t) => {
  t.deepEqual(findInterface(sample, '192.168.56.11/24'), { ifname: 'eth1', mtu: 1500, prefixlen: 24, up: true });
  t.deepEqual(findInterface(sample, '192.168.56.11'), { ifname: 'eth1', mtu: 1500, prefixlen: 24, up: true });
  t.is(findInterface(sample, '2001:DB8::11/64')?.ifname, 'eth1');
  t.deepEqual(findInterface(sample, '198.51.100.7/25'), { ifname: 'enp0s9', mtu: 9000, prefixlen: 25, up: false });
  t.is(findInterface(sample, '192.168.56.12'), undefined);
  t.is(findInterface(sample, '192.168.56.1'), undefined);
});
