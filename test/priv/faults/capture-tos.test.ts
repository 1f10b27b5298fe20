/**
 * Fault suite: the tunnel sets the outer TOS to one value, the capture expects another. The
 * capture check must fail and say which TOS it saw; the capture expecting the value really set
 * passes in the same run. Done with both values so neither expectation passes by accident.
 */
import { privTest } from '../../support/priv.js';
import { faultLab, linkDetails, show } from './harness.js';

const TOOLS = ['ping', 'tcpdump'];

for (const [set, other] of [['0x28', '0x10'], ['0x10', '0x28']] as const) {
  privTest(`fault: tunnel TOS ${set}, capture expecting ${other} — that capture FAILS saying it saw ${set}; expecting ${set} passes`, async (t) => {
    const f = faultLab(t, 'capture-tos.yaml', { tunnel_tos: set }, 'ft');
    const up = f.gl(['up', '--no-checks', '--json', f.file]);
    t.is(up.code, 0, up.stdout + up.stderr);
    t.is(linkDetails(f.ns('box-1'), 'tun0').linkinfo.info_data.tos, set, 'the kernel device sets that TOS');
    const r = f.checks(['check', f.file]);
    const b = r.byName;
    t.is(r.code, 1, show(b));
    t.is(b.across?.status, 'passed', show(b));
    t.is(b[`tos-${set}`]?.status, 'passed', show(b));
    const wrong = b[`tos-${other}`]!;
    t.is(wrong?.status, 'failed', `a capture expecting TOS ${other} on ${set} traffic must fail\n${show(b)}`);
    t.regex(wrong.message!, new RegExp(`^expected ip\\.tos ${other} in ≥3 packets, 0 matched; saw \\d+ encapsulated .* with ip\\.tos ${set} ×\\d+`));
    t.is(wrong.figures.matched, 0);
  }, { tools: TOOLS });
}
