/**
 * Fault suite: the two ends of a VXLAN tunnel disagree on the VNI or on the UDP destination port.
 * A recipe gives both ends of a tunnel the same VNI and port, so the fault is made after `up`
 * by re-creating box-2's end of the tunnel with one value changed (harness.recreateTunnelEnd).
 * Each test first proves the healthy lab passes (and that `expect: unreachable` FAILS on it),
 * then injects the fault and proves the opposite, with the kernel's own view as a witness.
 */
import { privTest } from '../../support/priv.js';
import { faultLab, linkDetails, recreateTunnelEnd, show, snmpCounter } from './harness.js';

const TOOLS = ['ping', 'tcpdump'];
const LOSS_100 = /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/;

function upAndCheckHealthy(t: Parameters<Parameters<typeof privTest>[1]>[0], f: ReturnType<typeof faultLab>) {
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const healthy = f.checks(['check', f.file]);
  const h = healthy.byName;
  t.is(h.reachable?.status, 'passed', show(h));
  t.is(h.unreachable?.status, 'failed', `expect: unreachable must FAIL on a healthy lab\n${show(h)}`);
  t.is(h.unreachable?.message, 'expected unreachable (100% loss, no reply), saw 0% loss: 3/3 replies');
  t.is(h.arriving?.status, 'passed', show(h));
  t.is(healthy.code, 1, 'a failing check makes `check` exit 1');
}

privTest('fault: mismatched VNI (123 vs 124) — ping reachable FAILS with 100% loss, expect unreachable passes', async (t) => {
  const f = faultLab(t, 'vxlan-pair.yaml', {}, 'fv');
  upAndCheckHealthy(t, f);

  const changed = recreateTunnelEnd(f.ns('box-2'), 'tun0', { id: 124 });
  t.is(changed.linkinfo.info_data.id, 124);
  t.is(changed.master, 'sw2');
  t.is(linkDetails(f.ns('box-1'), 'tun0').linkinfo.info_data.id, 123, 'box-1 still uses VNI 123');

  const faulty = f.checks(['check', f.file]);
  const b = faulty.byName;
  t.is(faulty.code, 1);
  t.is(b.reachable?.status, 'failed', `a ping across mismatched VNIs must fail\n${show(b)}`);
  t.regex(b.reachable!.message!, LOSS_100);
  t.is(b.reachable!.figures.received, 0);
  t.is(b.unreachable?.status, 'passed', show(b));
  // The packets do reach box-2, carrying the VNI box-2 no longer serves: dropped there.
  t.is(b.arriving?.status, 'passed', show(b));
}, { tools: TOOLS });

privTest('fault: mismatched UDP destination port (4789 vs 4790) — ping FAILS with 100% loss, expect unreachable passes', async (t) => {
  const f = faultLab(t, 'vxlan-pair.yaml', {}, 'fp');
  upAndCheckHealthy(t, f);

  const changed = recreateTunnelEnd(f.ns('box-2'), 'tun0', { dstport: 4790 });
  t.is(changed.linkinfo.info_data.port, 4790);
  t.is(changed.linkinfo.info_data.id, 123, 'only the port differs');
  t.is(linkDetails(f.ns('box-1'), 'tun0').linkinfo.info_data.port, 4789);
  const noPortsBefore = snmpCounter(f.ns('box-2'), 'Udp', 'NoPorts');

  const faulty = f.checks(['check', f.file]);
  const b = faulty.byName;
  t.is(faulty.code, 1);
  t.is(b.reachable?.status, 'failed', `a ping across mismatched ports must fail\n${show(b)}`);
  t.regex(b.reachable!.message!, LOSS_100);
  t.is(b.unreachable?.status, 'passed', show(b));
  t.is(b.arriving?.status, 'passed', `box-1 still sends to 4789\n${show(b)}`);
  // The kernel's witness: box-2 has nothing listening on 4789 any more, so it counts the
  // datagrams box-1 sends there as "no port" (and answers with ICMP port unreachable).
  t.true(snmpCounter(f.ns('box-2'), 'Udp', 'NoPorts') > noPortsBefore, 'box-2 counted UDP datagrams to a port nobody listens on');
}, { tools: TOOLS });
