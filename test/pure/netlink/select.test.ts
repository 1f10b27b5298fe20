/**
 * Backend selection: netlink is the default where it loads; where it cannot load, `auto`
 * falls back to iproute2 and says so, while an explicit `--backend netlink` fails clearly.
 */
import test from 'ava';
import { selectBackend, type NetlinkModule } from '../../../lib/backends/select.js';
import type { Executor } from '../../../lib/exec/executor.js';
import type { Backend } from '../../../lib/backends/backend.js';
import { UsageError } from '../../../lib/errors.js';

// Never called: selection itself runs nothing.
const exec: Executor = {
  where: 'fake',
  run: () => Promise.reject(new Error('selection must not run commands')),
  start: () => {
    throw new Error('selection must not start processes');
  },
};

const importFails = () => Promise.reject(new Error("Cannot find module 'koffi'\nRequire stack: ..."));
const createFails = (): Promise<NetlinkModule> =>
  Promise.resolve({ createNetlinkBackend: () => Promise.reject(new Error('netlink backend unavailable: netlink backend needs Linux (this is darwin)')) });
let fakeClosed = 0;
const fakeNetlink: Backend = { name: 'netlink', execute: async () => {}, run: async () => {}, close: async () => void fakeClosed++ };
const loads = (): Promise<NetlinkModule> => Promise.resolve({ createNetlinkBackend: async () => fakeNetlink });

for (const [why, loader] of [
  ['the module cannot be imported', importFails],
  ['the native part cannot load', createFails],
] as const) {
  test(`auto: falls back to iproute2 with a notice when ${why}`, async (t) => {
    const notices: string[] = [];
    const b = await selectBackend('auto', exec, (m) => notices.push(m), loader);
    t.is(b.name, 'iproute2');
    t.is(notices.length, 1, 'exactly one notice, never a silent fallback');
    t.regex(notices[0]!, /^netlink backend unavailable \(.+\); using iproute2$/);
    t.notRegex(notices[0]!, /\n/, 'the notice is one line (no stack or require trace)');
  });

  test(`--backend netlink: a clear usage error (no fallback) when ${why}`, async (t) => {
    const notices: string[] = [];
    const e = await t.throwsAsync(selectBackend('netlink', exec, (m) => notices.push(m), loader), { instanceOf: UsageError });
    t.regex(e!.message, /^the netlink backend cannot be used here: /);
    t.deepEqual(notices, []);
  });
}

test('auto: the named reason reaches the notice', async (t) => {
  const notices: string[] = [];
  await selectBackend('auto', exec, (m) => notices.push(m), createFails);
  t.regex(notices[0]!, /needs Linux \(this is darwin\)/);
});

test('auto and netlink: netlink is chosen, without a notice, where it loads', async (t) => {
  for (const name of ['auto', 'netlink'] as const) {
    const notices: string[] = [];
    const b = await selectBackend(name, exec, (m) => notices.push(m), loads);
    t.is(b.name, 'netlink');
    const before = fakeClosed;
    await b.close();
    t.is(fakeClosed, before + 1, 'the selected backend is the one the loader made (wrapped for OVS ops)');
    t.deepEqual(notices, []);
  }
});

test('iproute2 never touches the netlink module', async (t) => {
  const b = await selectBackend('iproute2', exec, () => t.fail('no notice expected'), () => Promise.reject(new Error('must not load')));
  t.is(b.name, 'iproute2');
});

test('an unknown backend name is a usage error naming the choices', async (t) => {
  const e = await t.throwsAsync(selectBackend('ovs' as never, exec, () => {}, loads), { instanceOf: UsageError });
  t.regex(e!.message, /unknown backend "ovs": use netlink or iproute2/);
});
