/**
 * The mtu check and PMTU discovery (issue 14 bug): a sender whose MTU is above the path MTU is
 * correct when the path told it (a learned PMTU exception, as `ip route get` shows it); it is a
 * fault when nothing was learned; the silent black hole fails the search itself. `ip -j route get`
 * outputs are real (test/fixtures/tools, captured in recipes/pmtu-router.yaml's lab).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mtuAssertions, mtuVerdict, parseRouteGet, searchPathMtu, senderMtuVerdict, type ProbeOutcome } from '../../../lib/checks/mtu.js';

const fixture = (f: string) => readFileSync(new URL(`../../fixtures/tools/${f}`, import.meta.url), 'utf8');

test('ip -j route get: the learned exception (IPv4 and IPv6), none, and a routed destination', (t) => {
  t.deepEqual(parseRouteGet(fixture('route-get-pmtu-exception.json')), { dev: 'eth0', pmtuException: 3950 });
  t.deepEqual(parseRouteGet(fixture('route-get-ipv6-pmtu-exception.json')), { dev: 'eth0', pmtuException: 3930 });
  t.deepEqual(parseRouteGet(fixture('route-get-no-exception.json')), { dev: 'eth0' });
  t.deepEqual(parseRouteGet(fixture('route-get-via-gateway-exception.json')), { dev: 'west', gateway: '192.0.2.1', pmtuException: 4000 });
  t.is(parseRouteGet('not json'), undefined);
});

test('the bug: path MTU 3950 as expected, sender MTU 8950 with a learned exception of 3950 — passes (it failed before)', (t) => {
  const sender = { ifname: 'eth0', mtu: 8950, ...parseRouteGet(fixture('route-get-pmtu-exception.json')), subject: 'ip -j route get 203.0.113.2 in netns gl-x-left' };
  t.deepEqual(senderMtuVerdict('left', 3950, sender), { ok: true });
});

test('a sender above the path MTU that learned nothing is still a fault, and the message says what was seen', (t) => {
  const v = senderMtuVerdict('left', 1450, { ifname: 'eth0', mtu: 1500, ...parseRouteGet(fixture('route-get-no-exception.json')) });
  t.false(v.ok);
  if (!v.ok)
    t.is(
      v.message,
      'path MTU is 1450, but "left" has MTU 1500 on eth0 towards this on-link destination and it has learned no PMTU exception for it (no mtu in `ip route get`): its packets of 1451–1500 B are larger than the path allows (fragmented or refused, lost where no ICMP "frag needed" comes back); set its mtu to 1450',
    );
  const above = senderMtuVerdict('left', 1450, { ifname: 'eth0', mtu: 1500, pmtuException: 1480 });
  t.false(above.ok);
  if (!above.ok) t.regex(above.message, /the PMTU exception it learned for it is 1480, not the path MTU \(the ICMP's MTU was not applied\)/);
  // A sender that ignores the ICMP's MTU falls back to the kernel's minimum (552): no loss, but not the path.
  const below = senderMtuVerdict('left', 1450, { ifname: 'eth0', mtu: 1500, pmtuException: 552 });
  t.false(below.ok);
  if (!below.ok) t.regex(below.message, /the PMTU exception it learned for it is 552, not the path MTU \(the ICMP's MTU was ignored or wrong\)/);
  t.deepEqual(senderMtuVerdict('left', 1450, { ifname: 'eth0', mtu: 1450 }), { ok: true });
  t.deepEqual(senderMtuVerdict('left', 1450, undefined), { ok: true });
});

/** A path behind a router: ICMP from it beyond `path`, or silence (the black hole). */
const behindRouter = (path: number, icmp: boolean) => async (payload: number): Promise<ProbeOutcome> =>
  payload + 28 <= path ? { passed: true } : icmp ? { passed: false, signal: 'icmp-too-big', mtu: path, detail: `Frag needed and DF set (mtu = ${path})` } : { passed: false, signal: 'vanished', detail: 'no reply' };

test('assertions name what was looked at, expected next to observed — for the pass, the black hole and the unlearned sender', async (t) => {
  const ok = await searchPathMtu(behindRouter(3950, true), { family: 'ipv4', expectedMtu: 3950 });
  t.true(mtuVerdict({ mtu: 3950, source: 'expect_mtu' }, ok).ok);
  const learned = { ifname: 'eth0', mtu: 8950, pmtuException: 3950, subject: 'ip -j route get 203.0.113.2 in netns gl-x-left' };
  const a = mtuAssertions({ mtu: 3950, source: 'expect_mtu' }, ok, learned);
  t.deepEqual(a.map((x) => [x.field, x.expected, x.observed, x.ok]), [
    ['path MTU (DF ping search, expected from expect_mtu)', '3950', '3950', true],
    ['how DF packets of 3951 B are refused', 'an ICMP too-big or the sender\'s own "message too long"', '"icmp-too-big"', true],
    ['PMTU exception of the sender (ip -j route get 203.0.113.2 in netns gl-x-left; its MTU on eth0 is 8950)', '3950', '3950', true],
  ]);

  const hole = await searchPathMtu(behindRouter(3950, false), { family: 'ipv4', expectedMtu: 3950 });
  const v = mtuVerdict({ mtu: 3950, source: 'expect_mtu' }, hole);
  t.false(v.ok, 'the black hole fails although the path MTU matches');
  const ha = mtuAssertions({ mtu: 3950, source: 'expect_mtu' }, hole, undefined);
  t.deepEqual(ha.filter((x) => !x.ok).map((x) => [x.field, x.observed]), [['how DF packets of 3951 B are refused', '"vanished"']]);

  const unlearned = mtuAssertions({ mtu: 3950, source: 'expect_mtu' }, ok, { ...learned, pmtuException: undefined } as never);
  t.deepEqual(unlearned.filter((x) => !x.ok).map((x) => [x.expected, x.observed]), [['3950', '(absent)']]);
});

test('refused: what the path must do one byte above the path MTU — signalled (default), icmp, local, or silent (a black hole asserted on purpose)', async (t) => {
  const icmp = await searchPathMtu(behindRouter(1450, true), { family: 'ipv4', expectedMtu: 1450 });
  const hole = await searchPathMtu(behindRouter(1450, false), { family: 'ipv4', expectedMtu: 1450 });
  const local = await searchPathMtu(async (payload) => (payload + 28 <= 1450 ? { passed: true } : { passed: false, signal: 'local-mtu', mtu: 1450, detail: 'message too long, mtu=1450' }), { family: 'ipv4', expectedMtu: 1450 });
  const E = { mtu: 1450, source: 'expect_mtu' };
  const verdicts = Object.fromEntries(
    (['signalled', 'icmp', 'local', 'silent'] as const).map((r) => [r, [icmp, local, hole].map((s) => mtuVerdict(E, s, r).ok)]),
  );
  // Columns: the path answers with an ICMP too-big, the sender refuses locally, the path drops silently.
  t.deepEqual(verdicts, {
    signalled: [true, true, false],
    icmp: [true, false, false],
    local: [false, true, false],
    silent: [false, false, true],
  });
  const v = mtuVerdict(E, icmp, 'silent');
  t.false(v.ok);
  if (!v.ok) t.regex(v.message, /^path MTU is 1450 as expected, but DF packets of 1451 B are refused by the path \(Frag needed and DF set \(mtu = 1450\)\); expected \(refused: silent\) a silent drop \(a PMTU black hole\)$/);
  // A wrong path MTU still fails whatever the refusal, without calling an asserted hole a fault.
  const wrong = mtuVerdict({ mtu: 1500, source: 'x' }, hole, 'silent');
  t.false(wrong.ok);
  if (!wrong.ok) t.notRegex(wrong.message, /senders are never told/);
  t.deepEqual(mtuAssertions(E, hole, undefined, 'silent').map((x) => [x.expected, x.observed, x.ok]), [
    ['1450', '1450', true],
    ['a silent drop (a PMTU black hole)', '"vanished"', true],
  ]);
  // Nothing refused up to the cap: fine by default, a failure when a kind of refusal is asked for.
  const wide = await searchPathMtu(async () => ({ passed: true }), { family: 'ipv4', maxMtu: 1500 });
  t.true(mtuVerdict({ mtu: 1500, source: 'x' }, wide).ok);
  t.false(mtuVerdict({ mtu: 1500, source: 'x' }, wide, 'icmp').ok);
  t.deepEqual(mtuAssertions({ mtu: 1500, source: 'x' }, wide, undefined, 'icmp').filter((x) => !x.ok).map((x) => x.observed), ['nothing was refused']);
});
