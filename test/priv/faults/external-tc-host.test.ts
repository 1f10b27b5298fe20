/**
 * External (collect-metadata) VXLAN ends on THIS machine's kernel, through the real CLI with each
 * kernel backend. VXLAN devices exist here, but whether tc's flower/matchall/tunnel_key do
 * depends on the kernel (this development kernel has none of them; a stock distribution kernel
 * has all). Probed for real, then either:
 * - missing: `up` must fail at the tc step with an error naming the missing kernel modules, roll
 *   back, and leave no namespace behind;
 * - present: the lab must carry traffic both ways (the full proof with options and captures is
 *   test/vm/faults/external-tc.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { privTest, randomLabName } from '../../support/priv.js';

/** Whether this kernel has what external ends need, tried in a throw-away namespace. */
function tcTunnelSupport(): boolean {
  const ns = `gl-tcprobe-${randomLabName('p')}`;
  const run = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).status === 0;
  if (!run(['ip', 'netns', 'add', ns])) throw new Error('cannot create a namespace to probe tc');
  try {
    return (
      run(['ip', '-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']) &&
      run(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'v0', 'clsact']) &&
      run(['ip', 'netns', 'exec', ns, 'tc', 'filter', 'add', 'dev', 'v0', 'ingress', 'protocol', 'all', 'flower', 'enc_key_id', '1', 'action', 'tunnel_key', 'unset', 'pass']) &&
      run(['ip', 'netns', 'exec', ns, 'tc', 'filter', 'add', 'dev', 'v0', 'egress', 'protocol', 'all', 'matchall', 'action', 'drop'])
    );
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const recipe = (lab: string) => `lab: ${lab}
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: vxlan, external: true, vni: 42 }
checks:
  - { name: there, ping: { from: left, to: right, count: 2, deadline: 4 } }
  - { name: back, ping: { from: right, to: left, count: 2, deadline: 4 } }
`;

for (const backend of ['iproute2', 'netlink'] as const) {
  privTest(`external vxlan ends on this kernel (${backend} backend): traffic both ways, or a clear error naming the missing tc modules`, (t) => {
    const supported = tcTunnelSupport();
    const lab = randomLabName('xt');
    const dir = mkdtempSync(join(tmpdir(), `gl-xt-${lab}-`));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, recipe(lab));
    const gl = (args: string[]) => cli(['--backend', backend, '--state-dir', join(dir, 'state'), ...args]);
    t.teardown(() => {
      gl(['down', lab]);
      rmSync(dir, { recursive: true, force: true });
    });
    const up = gl(['up', '--json', file]);
    const out = up.stdout + up.stderr;
    if (supported) {
      t.log('this kernel has flower/matchall/tunnel_key: the lab must work');
      t.is(up.code, 0, out);
      const checks = JSON.parse(up.stdout).checks as { name: string; status: string }[];
      t.deepEqual(checks.map((c) => [c.name, c.status]), [['there', 'passed'], ['back', 'passed']], out);
    } else {
      t.log('this kernel lacks flower/matchall/tunnel_key: up must say so');
      t.not(up.code, 0, out);
      const printed = JSON.parse(up.stdout.trim() || up.stderr.trim()) as { error?: { code: string; failure?: { subject: string; ns: string; request: string; kernel_message: string } } };
      t.is(printed.error?.code, 'apply_failed');
      const f = printed.error!.failure!;
      t.is(f.subject, 'tunnel "tun0" on host "box-1" tc tunnel key', 'the failing step is named');
      t.is(f.ns, `gl-${lab}-box-1`);
      t.is(
        f.kernel_message,
        'TC classifier not found: this kernel has no flower/matchall classifier (CONFIG_NET_CLS_FLOWER, CONFIG_NET_CLS_MATCHALL; modules cls_flower, cls_matchall); external tunnel ends need them — run the lab where they exist (e.g. the VM tier)',
      );
      t.is(f.request, `ip netns exec gl-${lab}-box-1 tc filter add dev tun0 egress pref 10 protocol all matchall action tunnel_key set src_ip 192.0.2.11 dst_ip 192.0.2.12 id 42 dst_port 4789 ttl 64 nocsum pass`, 'the exact request is shown');
      t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), [], 'rolled back: no namespace left');
    }
  }, { tools: ['tc', 'ping'] });
}
