import test from 'ava';
import { keyToCommand } from '../../../lib/ui/keys.js';

test('main view keys', (t) => {
  const k = (input: string, key = {}) => keyToCommand('main', input, key);
  t.is(k('u'), 'up');
  t.is(k('d'), 'down');
  t.is(k('c'), 'checks');
  t.is(k('', { return: true }), 'rerun');
  t.is(k('j'), 'next');
  t.is(k('', { downArrow: true }), 'next');
  t.is(k('k'), 'prev');
  t.is(k('', { upArrow: true }), 'prev');
  t.is(k('', { tab: true }), 'focus-next');
  t.is(k('', { pageUp: true }), 'page-up');
  t.is(k('', { pageDown: true }), 'page-down');
  t.is(k('p'), 'capture');
  t.is(k('l'), 'log');
  t.is(k('?'), 'help');
  t.is(k('q'), 'quit');
  t.is(k('c', { ctrl: true }), 'quit', 'Ctrl-C asks like q (never leaves a lab behind silently)');
  t.is(k('x'), undefined);
});

test('quit confirmation: only y, n, Esc and Ctrl-C mean something', (t) => {
  t.is(keyToCommand('quit', 'y', {}), 'quit-teardown');
  t.is(keyToCommand('quit', 'n', {}), 'quit-keep');
  t.is(keyToCommand('quit', '', { escape: true }), 'close');
  t.is(keyToCommand('quit', 'c', { ctrl: true }), 'quit-keep', 'a second Ctrl-C quits without teardown');
  t.is(keyToCommand('quit', 'u', {}), undefined, 'no lab action from the prompt');
  t.is(keyToCommand('quit', 'd', {}), undefined);
});

test('overlays: Esc closes, j/k scroll, lab keys are ignored', (t) => {
  for (const mode of ['packets', 'log'] as const) {
    t.is(keyToCommand(mode, '', { escape: true }), 'close');
    t.is(keyToCommand(mode, 'j', {}), 'next');
    t.is(keyToCommand(mode, '', { pageDown: true }), 'page-down');
    t.is(keyToCommand(mode, '', { pageUp: true }), 'page-up');
    t.is(keyToCommand(mode, 'u', {}), undefined);
    t.is(keyToCommand(mode, 'd', { meta: true }), 'close', 'Esc typed just before another key still closes');
  }
  t.is(keyToCommand('help', '?', {}), 'close');
  t.is(keyToCommand('help', 'u', {}), undefined);
});

test('d asks first: y tears down (the TUI stays), n or Esc keeps the lab', (t) => {
  t.is(keyToCommand('confirm-down', 'y', {}), 'down-confirmed');
  t.is(keyToCommand('confirm-down', 'n', {}), 'close');
  t.is(keyToCommand('confirm-down', '', { escape: true }), 'close');
  t.is(keyToCommand('confirm-down', 'c', { ctrl: true }), 'quit');
  t.is(keyToCommand('confirm-down', 'u', {}), undefined);
});
