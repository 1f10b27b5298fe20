/**
 * Fault suite: guest MTU larger than the overlay allows. VXLAN over IPv4 on a 1500-byte underlay
 * carries 1450-byte guest packets; guests with MTU 1500 send packets it cannot carry. The mtu
 * check must fail naming the expected (the guest's MTU) and the found path MTU, and a DF ping
 * that fills the guest's MTU must fail with the MTU the tunnel reported. With MTU 1450 all pass.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { privTest } from '../../support/priv.js';
import { ipRun } from '../../support/oracle.js';
import { faultLab, linkDetails, show } from './harness.js';

const TOOLS = ['ping'];
/** The system's nft (under npx, PATH starts with node_modules/.bin, where ava's @vercel/nft puts an `nft`). */
const NFT = (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/') && !d.includes('node_modules')).map((d) => `${d}/nft`).find((f) => existsSync(f)) ?? 'nft';

privTest('healthy: guest MTU 1450 over a 1500 underlay — path MTU and a full-size DF ping pass', async (t) => {
  const f = faultLab(t, 'guest-mtu.yaml', { guest_mtu: 1450, full_payload: 1422 }, 'fm');
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.is(linkDetails(f.ns('left'), 'eth0').mtu, 1450);
  const r = f.checks(['check', f.file]);
  const b = r.byName;
  t.is(r.code, 0, show(b));
  for (const n of ['small', 'full-size-df', 'path-mtu']) t.is(b[n]?.status, 'passed', show(b));
  t.is(b['path-mtu']!.figures.path_mtu, 1450);
  t.is(b['full-size-df']!.figures.received, 3);
}, { tools: TOOLS });

privTest('fault: guest MTU 1500 over a 1500 underlay with VXLAN — the mtu check FAILS (expected 1500, found 1450), a full-size DF ping FAILS', async (t) => {
  const f = faultLab(t, 'guest-mtu.yaml', { guest_mtu: 1500, full_payload: 1472 }, 'fm');
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.is(linkDetails(f.ns('left'), 'eth0').mtu, 1500, 'the fault is in place: the guest NIC has MTU 1500');
  const r = f.checks(['check', f.file]);
  const b = r.byName;
  t.is(r.code, 1, show(b));
  t.is(b.small?.status, 'passed', `small packets still cross: the fault is about size only\n${show(b)}`);
  t.is(b['path-mtu']?.status, 'failed', `the mtu check must fail on a guest MTU the overlay cannot carry\n${show(b)}`);
  t.regex(b['path-mtu']!.message!, /^expected path MTU 1500 \(mtu of guest "left"\), found 1450: DF packets of 1451 B are refused/);
  t.is(b['path-mtu']!.figures.path_mtu, 1450);
  t.is(b['path-mtu']!.figures.expected_mtu, 1500);
  t.is(b['full-size-df']?.status, 'failed', show(b));
  // The tunnel tells the guest (ICMP frag needed from the bridged VXLAN device), or, once the
  // guest has learnt it, its own kernel refuses: either way the message carries 1450.
  t.regex(b['full-size-df']!.message!, /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies; .*mtu ?[=:]? ?1450/);
  t.is(b['full-size-df']!.figures.mtu_hint, 1450);
}, { tools: TOOLS });

privTest('a guest NIC raised to 1500 by hand over a 1450 overlay: PMTU discovery tells it (the check PASSES with the learned exception); with the ICMP dropped or ignored in the guest it FAILS', async (t) => {
  // Issue 14: a sender MTU above the path MTU is correct when PMTU discovery works — here the
  // bridged VXLAN device answers big DF packets with "frag needed" and the guest learns a PMTU
  // exception (ip route get shows mtu 1450). The check used to fail this case for the sender's MTU
  // alone. It must still fail when the guest is NOT told: ICMP dropped in the guest (a black
  // hole), or received and ignored (no exception learned).
  const f = faultLab(t, 'guest-mtu-unset.yaml', {}, 'fm');
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.is(linkDetails(f.ns('left'), 'eth0').mtu, 1450, 'the toolkit gave the guest the overlay MTU');
  const healthy = f.checks(['check', f.file]);
  t.is(healthy.code, 0, show(healthy.byName));
  t.is(healthy.byName['path-mtu']!.figures.sender_mtu, 1450);

  // The VM's own configuration raised its NIC (and the bridge port) to 1500.
  ipRun(['-n', f.ns('left'), 'link', 'set', 'eth0', 'mtu', '1500']);
  ipRun(['-n', f.ns('box-1'), 'link', 'set', 'left', 'mtu', '1500']);
  const told = f.checks(['check', f.file]);
  const m = told.byName['path-mtu']!;
  t.is(told.code, 0, show(told.byName));
  t.is(m.status, 'passed', `the guest learned the path MTU: nothing is lost\n${show(told.byName)}`);
  t.like(m.figures, { path_mtu: 1450, expected_mtu: 1450, sender_mtu: 1500, pmtu_exception: 1450 });
  const learned = JSON.parse(execFileSync('ip', ['-n', f.ns('left'), '-j', 'route', 'get', '203.0.113.2'], { encoding: 'utf8' }))[0];
  t.deepEqual(learned.metrics, [{ mtu: 1450 }], 'the kernel\'s own view: a PMTU exception of 1450');

  // The guest ignores the MTU it is told (ip_no_pmtu_disc=1: ping shows "mtu = 0" and the kernel
  // falls back to its minimum, 552): nothing is lost, but the sender did not learn the path MTU.
  ipRun(['-n', f.ns('left'), 'route', 'flush', 'cache']);
  execFileSync('ip', ['netns', 'exec', f.ns('left'), 'sysctl', '-q', '-w', 'net.ipv4.ip_no_pmtu_disc=1']);
  const ignored = f.checks(['check', f.file]).byName['path-mtu']!;
  t.is(ignored.status, 'failed', JSON.stringify(ignored));
  t.regex(ignored.message!, /^path MTU is 1450, but "left" has MTU 1500 on eth0 towards this on-link destination and the PMTU exception it learned for it is 552, not the path MTU \(the ICMP's MTU was ignored or wrong\)/);
  t.is(ignored.figures.pmtu_exception, 552);
  execFileSync('ip', ['netns', 'exec', f.ns('left'), 'sysctl', '-q', '-w', 'net.ipv4.ip_no_pmtu_disc=0']);

  // A firewall in the guest drops the ICMP errors: a real black hole.
  ipRun(['-n', f.ns('left'), 'route', 'flush', 'cache']);
  for (const argv of [['add', 'table', 'inet', 'guestfw'], ['add', 'chain', 'inet', 'guestfw', 'in', '{ type filter hook input priority 0 ; }'], ['add', 'rule', 'inet', 'guestfw', 'in', 'icmp', 'type', 'destination-unreachable', 'drop']])
    execFileSync('ip', ['netns', 'exec', f.ns('left'), NFT, ...argv]);
  const hole = f.checks(['check', f.file]).byName['path-mtu']!;
  t.is(hole.status, 'failed', JSON.stringify(hole));
  t.is(hole.message, 'path MTU is 1450 as expected, but DF packets of 1451 B vanish without an ICMP error: a PMTU black hole (a sender whose MTU is larger than 1450 loses big packets silently)');
  t.like(hole.figures, { path_mtu: 1450, black_hole: true });
}, { tools: [...TOOLS, 'nft'] });
