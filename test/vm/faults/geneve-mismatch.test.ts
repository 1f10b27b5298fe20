/**
 * Kernel tier (VM): the two ends of a kernel Geneve tunnel disagree on the VNI or on the UDP
 * destination port. As in test/priv/faults/overlay-mismatch.test.ts (VXLAN, on the host), the
 * fault is made after `up` by re-creating box-2's end; first the healthy lab must pass (and
 * `expect: unreachable` must FAIL on it), then the faulty one the other way round.
 */
import type { ExecutionContext } from 'ava';
import { faultLab, linkDetails, recreateTunnelEnd, show, snmpCounter, type FaultLab } from '../../priv/faults/harness.js';
import { kernelTest } from './kernel.js';

const LOSS_100 = /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/;

function upHealthy(t: ExecutionContext, f: FaultLab) {
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.is(linkDetails(f.ns('box-2'), 'tun0').linkinfo.info_kind, 'geneve', 'a kernel geneve netdev');
  const h = f.checks(['check', f.file]).byName;
  t.is(h.reachable?.status, 'passed', show(h));
  t.is(h.unreachable?.status, 'failed', `expect: unreachable must FAIL on a healthy lab\n${show(h)}`);
  t.is(h.arriving?.status, 'passed', show(h));
}

function assertBroken(t: ExecutionContext, f: FaultLab) {
  const r = f.checks(['check', f.file]);
  const b = r.byName;
  t.is(r.code, 1, show(b));
  t.is(b.reachable?.status, 'failed', show(b));
  t.regex(b.reachable!.message!, LOSS_100);
  t.is(b.unreachable?.status, 'passed', show(b));
  t.is(b.arriving?.status, 'passed', `box-1 still sends VNI 77 to port 6081\n${show(b)}`);
}

kernelTest('fault (kernel geneve): mismatched VNI (77 vs 78) — ping FAILS with 100% loss, expect unreachable passes', async (t) => {
  const f = faultLab(t, 'geneve-pair.yaml', {}, 'gv');
  upHealthy(t, f);
  t.is(recreateTunnelEnd(f.ns('box-2'), 'tun0', { id: 78 }).linkinfo.info_data.id, 78);
  t.is(linkDetails(f.ns('box-1'), 'tun0').linkinfo.info_data.id, 77);
  assertBroken(t, f);
}, { features: ['geneve'], tools: ['ping', 'tcpdump'] });

kernelTest('fault (kernel geneve): mismatched UDP destination port (6081 vs 6082) — ping FAILS with 100% loss, the receiver counts "no port"', async (t) => {
  const f = faultLab(t, 'geneve-pair.yaml', {}, 'gp');
  upHealthy(t, f);
  const d = recreateTunnelEnd(f.ns('box-2'), 'tun0', { dstport: 6082 }).linkinfo.info_data;
  t.is(d.port, 6082);
  t.is(d.id, 77);
  const before = snmpCounter(f.ns('box-2'), 'Udp', 'NoPorts');
  assertBroken(t, f);
  t.true(snmpCounter(f.ns('box-2'), 'Udp', 'NoPorts') > before, 'box-2 counted datagrams to 6081, where nothing listens any more');
}, { features: ['geneve'], tools: ['ping', 'tcpdump'] });
