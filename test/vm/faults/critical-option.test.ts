/**
 * Kernel tier (VM): a critical Geneve option towards a plain kernel Geneve device.
 *
 * box-1's end is an Open vSwitch port that adds option class 0x0102 to every packet (the
 * recipe's `options:`); box-2's end is a kernel geneve netdev that does not collect metadata.
 * RFC 8926: a receiver that does not understand a critical option (type bit 0x80, header C flag)
 * must drop the packet; Linux does, counting it in the device's rx frame errors.
 *
 * Without the option (same lab, no `options:`) the ping passes and the captures that look for
 * the option and the C flag FAIL; with the critical option the ping fails, both captures pass
 * (the cause is on the wire) and box-2's tun0 rx frame_errors grows.
 *
 * Why OVS and not `tc … tunnel_key … geneve_opts 0102:80:…` on an external kernel device:
 * act_tunnel_key copies the option but never sets the header's C flag (TUNNEL_CRIT_OPT), and
 * the kernel receiver only looks at that flag — so that path does not exercise the drop. OVS
 * (userspace and kernel datapath) sets the flag whenever an option is critical.
 */
import { faultLab, linkDetails, linkStats, show } from '../../priv/faults/harness.js';
import { kernelTest } from './kernel.js';

const TOOLS = ['ping', 'tcpdump', 'ovs-vswitchd', 'ovsdb-server', 'ovs-vsctl', 'ovs-ofctl'];
const withoutOptions = (text: string) => {
  const out = text.replace(/^    options: .*\n/m, '');
  if (out === text) throw new Error('the template has no options: line to remove');
  return out;
};

kernelTest('healthy (kernel geneve ← OVS): no option — ping passes; captures expecting the option and the C flag FAIL', async (t) => {
  const f = faultLab(t, 'geneve-critical-option.yaml', {}, 'gc', withoutOptions);
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const before = linkStats(f.ns('box-2'), 'tun0').rx;
  const r = f.checks(['check', f.file]);
  const b = r.byName;
  t.is(b.reachable?.status, 'passed', show(b));
  t.is(b['option-on-the-wire']?.status, 'failed', `no option is sent, the capture must not find one\n${show(b)}`);
  t.is(b['critical-flag']?.status, 'failed', show(b));
  t.regex(b['critical-flag']?.message ?? '', /geneve\.critical false/, show(b));
  t.is(linkStats(f.ns('box-2'), 'tun0').rx.frame_errors, before.frame_errors, 'no frame errors without a critical option');
  t.log(show(b));
}, { features: ['geneve'], tools: TOOLS });

kernelTest('fault (kernel geneve ← OVS): critical option 0x0102/0x80 — ping FAILS, the option and C flag are on the wire, rx frame_errors grows', async (t) => {
  const f = faultLab(t, 'geneve-critical-option.yaml', { opt_type: '0x80' }, 'gc');
  const up = f.gl(['up', '--no-checks', '--json', f.file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const tun = linkDetails(f.ns('box-2'), 'tun0');
  t.is(tun.linkinfo.info_kind, 'geneve');
  t.falsy(tun.linkinfo.info_data.external, 'box-2 has a plain (non-external) geneve device');
  const before = linkStats(f.ns('box-2'), 'tun0').rx;
  const r = f.checks(['check', f.file]);
  const b = r.byName;
  t.is(r.code, 1, show(b));
  t.is(b.reachable?.status, 'failed', `a plain kernel device must drop packets with a critical option\n${show(b)}`);
  t.regex(b.reachable!.message!, /^expected reachable \(loss ≤ 0%\), saw 100% loss: 0\/\d+ replies/);
  t.is(b['option-on-the-wire']?.status, 'passed', show(b));
  t.is(b['critical-flag']?.status, 'passed', show(b));
  const after = linkStats(f.ns('box-2'), 'tun0').rx;
  t.true(after.frame_errors! > before.frame_errors!, `rx frame_errors ${before.frame_errors} → ${after.frame_errors}`);
  t.true(after.errors! > before.errors!);
  t.log(show(b));
}, { features: ['geneve'], tools: TOOLS });
