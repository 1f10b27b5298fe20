/**
 * Fault suite: VXLAN over IPv6 sending zero UDP checksums (udp6zerocsumtx) to a receiver that
 * requires checksums (no udp6zerocsumrx). RFC 6935/6936 allow zero checksums over IPv6 only
 * where the receiver opts in; Linux drops them otherwise and counts Udp6 InCsumErrors.
 * Healthy: the receivers accept zero checksums and the ping passes. Both ways a capture proves
 * that zero checksums really are on the wire.
 */
import { privTest } from '../../support/priv.js';
import { faultLab, linkDetails, show, snmpCounter } from './harness.js';

const TOOLS = ['ping', 'tcpdump'];

for (const zeroRx of [true, false]) {
  const title = zeroRx
    ? 'healthy: IPv6 underlay, zero UDP checksums sent and accepted (udp6zerocsumrx) — ping passes'
    : 'fault: IPv6 underlay, zero UDP checksums sent to a receiver that requires them — ping FAILS with 100% loss';
  privTest(title, async (t) => {
    const f = faultLab(t, 'ipv6-zero-csum.yaml', { zero_rx: zeroRx }, 'fc');
    const up = f.gl(['up', '--no-checks', '--json', f.file]);
    t.is(up.code, 0, up.stdout + up.stderr);
    const d = linkDetails(f.ns('box-2'), 'tun0').linkinfo.info_data;
    t.is(d.remote6, '2001:db8::11', 'the tunnel runs over IPv6');
    t.true(d.udp_zero_csum6_tx);
    t.is(d.udp_zero_csum6_rx, zeroRx);
    const csumErrors = () => snmpCounter(f.ns('box-1'), 'Udp6', 'InCsumErrors') + snmpCounter(f.ns('box-2'), 'Udp6', 'InCsumErrors');
    const before = csumErrors();

    const r = f.checks(['check', f.file]);
    const b = r.byName;
    t.is(b['zero-checksums']?.status, 'passed', `zero checksums are on the wire either way\n${show(b)}`);
    if (zeroRx) {
      t.is(r.code, 0, show(b));
      t.is(b.across?.status, 'passed', show(b));
      t.is(csumErrors(), before, 'no checksum errors when the receivers accept zero checksums');
    } else {
      t.is(r.code, 1, show(b));
      t.is(b.across?.status, 'failed', `a ping whose tunnel packets the receiver drops must fail\n${show(b)}`);
      t.regex(b.across!.message!, /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/);
      t.true(csumErrors() > before, 'the receivers counted the zero-checksum datagrams as checksum errors (Udp6 InCsumErrors)');
    }
  }, { tools: TOOLS });
}
