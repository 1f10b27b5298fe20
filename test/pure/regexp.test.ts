import test from 'ava';
import { escapeRegExp } from '../../lib/regexp.js';

test('escapeRegExp: the text matches itself exactly, every special character literal', (t) => {
  const texts = ['tunnel|WARN|receive tunnel port not found', 'a.b*c+d?e^f$g{h}i(j)k[l]m\\n/o', 'gnv0-in-1', ''];
  for (const s of texts) {
    const re = new RegExp(`^${escapeRegExp(s)}$`);
    t.true(re.test(s), s);
  }
  t.false(new RegExp(`^${escapeRegExp('a.b')}$`).test('axb'), 'a dot is a dot');
  t.false(new RegExp(escapeRegExp('x|y')).test('y'), 'an alternation is text');
});
