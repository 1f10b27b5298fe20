/**
 * Duplicate addresses are found by one pass over an index (lib/recipe/semantic.ts), not by
 * comparing every pair: every repeat must still be reported, at its own field, naming the
 * first user of the address, whatever the spelling of the address (IPv6 has many).
 */
import test from 'ava';
import { baseRecipe, errorsOf, tryLoad } from './helpers.js';
import { canonicalAddress, sameAddress } from '../../../lib/recipe/addr.js';

const guest = (name: string, addr: string) => `  - { name: ${name}, switch: sw1, addresses: ["${addr}"] }`;

test('every repeat of an address is reported, each naming the first user', (t) => {
  const extra = [guest('g3', '203.0.113.1/24'), guest('g4', '203.0.113.9/24'), guest('g5', '203.0.113.1/24'), guest('g6', '203.0.113.9/24')].join('\n');
  const errs = errorsOf(tryLoad(baseRecipe({ guests: extra })));
  t.deepEqual(
    errs.map((e) => [e.path, e.message]),
    [
      ['guests[2].addresses[0]', 'address 203.0.113.1 of guest "g3" is already used by guest "left"; every address must be unique'],
      ['guests[4].addresses[0]', 'address 203.0.113.1 of guest "g5" is already used by guest "left"; every address must be unique'],
      ['guests[5].addresses[0]', 'address 203.0.113.9 of guest "g6" is already used by guest "g4"; every address must be unique'],
    ],
  );
});

test('IPv6 spellings of one address are one address; a host address repeated by a guest is found', (t) => {
  const extra = [guest('g3', '2001:DB8:0:0::11/64'), guest('g4', '192.0.2.12/24'), guest('g5', '2001:db8::0:12/64')].join('\n');
  const errs = errorsOf(tryLoad(baseRecipe({ guests: extra })));
  t.deepEqual(
    errs.map((e) => [e.path, e.message]),
    [
      ['guests[2].addresses[0]', 'address 2001:DB8:0:0::11 of guest "g3" is already used by host "box-1"; every address must be unique'],
      ['guests[3].addresses[0]', 'address 192.0.2.12 of guest "g4" is already used by host "box-2"; every address must be unique'],
      ['guests[4].addresses[0]', 'address 2001:db8::0:12 of guest "g5" is already used by host "box-2"; every address must be unique'],
    ],
  );
});

test('an IPv4 address and its IPv4-mapped IPv6 form are different addresses', (t) => {
  t.false(sameAddress('192.0.2.1', '::ffff:192.0.2.1'));
  t.not(canonicalAddress('192.0.2.1'), canonicalAddress('::ffff:192.0.2.1'));
  t.is(canonicalAddress('::ffff:192.0.2.1'), canonicalAddress('::ffff:c000:201'));
  t.is(canonicalAddress('not an address'), undefined);
});

test('canonical forms agree with the pairwise comparison on a mixed sample', (t) => {
  const sample = ['192.0.2.1', '192.0.2.01'.replace('01', '1'), '2001:db8::1', '2001:0db8:0000::0001', '2001:db8::2', '::', '0::0', '::ffff:192.0.2.1', '198.51.100.7'];
  for (const a of sample) for (const b of sample) t.is(canonicalAddress(a) === canonicalAddress(b), sameAddress(a, b), `${a} vs ${b}`);
});

test('a 1000-guest lab with one late duplicate reports exactly that one', (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => guest(`n${i}`, `2001:db8:9::${(i + 1).toString(16)}/64`));
  many.push(guest('late', '2001:db8:9::1f4/64')); // = n499
  const errs = errorsOf(tryLoad(baseRecipe({ guests: many.join('\n') })));
  t.deepEqual(errs.map((e) => [e.path, e.message]), [['guests[1002].addresses[0]', 'address 2001:db8:9::1f4 of guest "late" is already used by guest "n499"; every address must be unique']]);
});
