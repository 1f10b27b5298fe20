import test from 'ava';
import { formatBitrate, formatPercent, parseBitrate, parsePercent } from '../../../lib/checks/units.js';

test('bit rates are decimal and accept the usual spellings', (t) => {
  t.is(parseBitrate('500Mbit'), 500e6);
  t.is(parseBitrate('1.5G'), 1.5e9);
  t.is(parseBitrate('100 kbps'), 100e3);
  t.is(parseBitrate('100mbit/s'), 100e6);
  t.is(parseBitrate('2000000'), 2e6);
  t.is(parseBitrate(42), 42);
  t.throws(() => parseBitrate('fast'), { message: /invalid bit rate "fast": expected a number with an optional unit/ });
  t.throws(() => parseBitrate('10 Mbyte'));
});

test('formatting', (t) => {
  t.is(formatBitrate(13254432161), '13.3 Gbit/s');
  t.is(formatBitrate(500e6), '500 Mbit/s');
  t.is(formatBitrate(2e9), '2 Gbit/s');
  t.is(formatBitrate(999), '999 bit/s');
  t.is(formatPercent(0), '0%');
  t.is(formatPercent(0.1), '0.1%');
  t.is(formatPercent(36.32617), '36.3%');
  t.is(formatPercent(100), '100%');
});

test('percentages', (t) => {
  t.is(parsePercent('0.1%'), 0.1);
  t.is(parsePercent(5), 5);
  t.throws(() => parsePercent('150%'), { message: /expected 0–100/ });
  t.throws(() => parsePercent('x'));
});
