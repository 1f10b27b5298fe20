/**
 * Geneve through the netlink backend on a kernel that has geneve (the VM tier:
 * `geneve-lab vm --exec -- npx ava test/priv/netlink/geneve.test.ts`). On a kernel without
 * geneve (this development sandbox) every test here is skipped LOUDLY.
 *
 * Both directions, judged by iproute2 (`ip -d -j`, see geneve-surface.md §3 for the keys):
 *  - created with netlink → read by `ip -d -j link show`;
 *  - created with `ip link add … type geneve …` → read (decoded) by netlink.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { privTest, privReason, randomLabName } from '../../support/priv.js';
import { createNetlinkBackend, type NetlinkBackend } from '../../../lib/backends/netlink/index.js';
import { geneveKernelView } from '../../../lib/backends/netlink/decode.js';
import { OpError } from '../../../lib/errors.js';
import type { GeneveParams } from '../../../lib/model/types.js';
import type { Op } from '../../../lib/plan/ops.js';
import { removeNamespaces } from './oracle.js';

/** Does the running kernel offer the geneve link type? (built in, a module, or loadable) */
function kernelHasGeneve(): boolean {
  try {
    const cfg = gunzipSync(readFileSync('/proc/config.gz')).toString();
    if (/^CONFIG_GENEVE=(y|m)$/m.test(cfg)) return true;
    if (/^# CONFIG_GENEVE is not set$/m.test(cfg)) return false;
  } catch {
    /* no /proc/config.gz: ask modprobe */
  }
  if (existsSync('/sys/module/geneve')) return true;
  return spawnSync('modprobe', ['-q', 'geneve'], { stdio: 'ignore' }).status === 0 && existsSync('/sys/module/geneve');
}

const reason = privReason() ?? (kernelHasGeneve() ? undefined : 'this kernel has no geneve link type; run it in the VM tier');
const gtest = (title: string, fn: (t: ExecutionContext) => Promise<void>) => {
  if (reason) {
    process.stderr.write(`\n!!! GENEVE TEST NOT RUN (${reason}): ${title}\n`);
    test.skip(`${title} [NOT RUN: ${reason}]`, () => {});
  } else privTest(title, fn);
};

const kernelMinor = (() => {
  const [maj = 0, min = 0] = execFileSync('uname', ['-r'], { encoding: 'utf8' }).split('.').map((x) => parseInt(x, 10));
  return maj * 1000 + min;
})();
const kernelHasPortRange = kernelMinor >= 6015; // IFLA_GENEVE_PORT_RANGE: 6.15

type P = GeneveParams & { remote?: string };

/** What `ip -d -j link show` prints for these params (geneve-surface.md §3 JSON table). */
function expectedIpJson(p: P): Record<string, unknown> {
  const v = geneveKernelView(p);
  const o: Record<string, unknown> = { id: v.vni, port: v.dstport, df: v.df };
  if (p.external) o.external = true;
  if (!p.external && v.remote) o[v.remote.includes(':') ? 'remote6' : 'remote'] = v.remote;
  if (v.ttl !== 'inherit') o.ttl = v.ttl === 'auto' ? 0 : v.ttl;
  if (v.tos !== 0) o.tos = `0x${(v.tos === 'inherit' ? 1 : (v.tos as number)).toString(16)}`;
  if (v.flowlabel) o.label = `0x${v.flowlabel.toString(16)}`;
  if (v.udpcsum !== undefined) o.udp_csum = v.udpcsum;
  if (v.udp6zerocsumtx !== undefined) o.udp_zero_csum6_tx = v.udp6zerocsumtx;
  o.udp_zero_csum6_rx = v.udp6zerocsumrx;
  if (p.innerprotoinherit) o.inner_proto_inherit = true;
  return o;
}

/** Every attribute of §1.1 appears in at least one case. */
const cases: { name: string; p: P; ipArgs: string[] }[] = [
  { name: 'g4', p: { vni: 42, remote: '192.0.2.2', ttl: 64, dstport: 6081, df: 'set' }, ipArgs: ['id', '42', 'remote', '192.0.2.2', 'ttl', '64', 'dstport', '6081', 'df', 'set'] },
  {
    name: 'g4b',
    p: { vni: 16777215, remote: '198.51.100.9', ttl: 'inherit', tos: 'inherit', dstport: 7000, udpcsum: true, udp6zerocsumrx: false, df: 'inherit' },
    ipArgs: ['id', '16777215', 'remote', '198.51.100.9', 'ttl', 'inherit', 'tos', 'inherit', 'dstport', '7000', 'udpcsum', 'noudp6zerocsumrx', 'df', 'inherit'],
  },
  {
    name: 'g6',
    p: { vni: 7, remote: '2001:db8::2', ttl: 'auto', tos: 0x28, flowlabel: 0x12345, udp6zerocsumtx: true, udp6zerocsumrx: true, df: 'unset' },
    ipArgs: ['id', '7', 'remote', '2001:db8::2', 'ttl', 'auto', 'tos', '0x28', 'flowlabel', '0x12345', 'udp6zerocsumtx', 'udp6zerocsumrx', 'df', 'unset'],
  },
  { name: 'gx', p: { external: true, dstport: 6082 }, ipArgs: ['external', 'dstport', '6082'] },
  { name: 'gl3', p: { vni: 9, remote: '192.0.2.3', innerprotoinherit: true, dstport: 6083 }, ipArgs: ['id', '9', 'remote', '192.0.2.3', 'innerprotoinherit', 'dstport', '6083'] },
];

async function lab(t: ExecutionContext): Promise<{ b: NetlinkBackend; ns: string }> {
  const ns = `${randomLabName('ng')}-x`;
  const b = await createNetlinkBackend();
  t.teardown(async () => {
    await b.close();
    if (existsSync(`/run/netns/${ns}`)) removeNamespaces([ns]);
  });
  await b.run({ id: 1, subject: 'ns', op: { op: 'netns.add', ns, tag: 'gl-geneve' }, undo: null });
  return { b, ns };
}

const ipShow = (ns: string, dev: string) => JSON.parse(execFileSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', dev], { encoding: 'utf8' }))[0];

gtest('geneve created with netlink reads back through ip -d -j (every attribute)', async (t) => {
  const { b, ns } = await lab(t);
  for (const c of cases) {
    await b.run({ id: 2, subject: `tunnel "${c.name}"`, op: { op: 'link.add', ns, link: { kind: 'geneve', name: c.name, mtu: 1400, geneve: c.p } }, undo: null });
    const shown = ipShow(ns, c.name);
    t.is(shown.linkinfo.info_kind, 'geneve', c.name);
    t.is(shown.mtu, 1400, c.name);
    t.like(shown.linkinfo.info_data, expectedIpJson(c.p), c.name);
  }
});

gtest('geneve created with ip decodes through netlink to the typed params (plus kernel defaults)', async (t) => {
  const { b, ns } = await lab(t);
  for (const c of cases) {
    execFileSync('ip', ['-n', ns, 'link', 'add', c.name, 'type', 'geneve', ...c.ipArgs]);
    const got = b.getLink(ns, c.name)?.geneve;
    const want = geneveKernelView(c.p) as Record<string, unknown>;
    if (!kernelHasPortRange) delete want.srcport;
    t.deepEqual(got, want, c.name);
  }
});

gtest('geneve source-port range: applied on kernels ≥ 6.15, otherwise reported as ignored', async (t) => {
  const { b, ns } = await lab(t);
  const before = b.notices.length;
  await b.run({ id: 3, subject: 'tunnel "gr"', host: 'h', op: { op: 'link.add', ns, link: { kind: 'geneve', name: 'gr', geneve: { vni: 5, remote: '192.0.2.5', srcport: { low: 5000, high: 6000 } } } }, undo: null });
  const notices = b.notices.slice(before);
  if (kernelHasPortRange) {
    t.deepEqual(b.getLink(ns, 'gr')?.geneve?.srcport, { low: 5000, high: 6000 });
    t.deepEqual(notices, []);
  } else {
    t.deepEqual(notices, ['tunnel "gr" on host "h": kernel did not report geneve srcport: this kernel probably ignores it']);
  }
});

gtest('geneve kernel errors carry the kernel text, errno, subject and namespace', async (t) => {
  const { b, ns } = await lab(t);
  const fails = async (name: string, p: P, errno: string, text: RegExp) => {
    const op: Op = { op: 'link.add', ns, link: { kind: 'geneve', name, geneve: p } };
    const e = await t.throwsAsync(b.run({ id: 4, subject: `tunnel "${name}"`, host: 'box-1', op, undo: null }), { instanceOf: OpError });
    t.is(e?.failure.errno, errno, e?.message);
    t.regex(e?.message ?? '', new RegExp(`^tunnel "${name}" on host "box-1" \\(netns ${ns}\\): `));
    t.regex(e?.message ?? '', text);
  };
  await fails('e1', { vni: 1 << 24, remote: '192.0.2.2' }, 'ERANGE', /Geneve ID must be lower than 16777216 \(ERANGE\)/);
  await fails('e2', { vni: 1, remote: '192.0.2.2', flowlabel: 5 }, 'EINVAL', /Label attribute only applies for IPv6 Geneve devices/);
  await fails('e3', { vni: 1, remote: '239.1.1.1' }, 'EINVAL', /Remote IPv4 address cannot be Multicast/);
  await fails('e4', { vni: 1, remote: 'fe80::1' }, 'EINVAL', /Remote IPv6 address cannot be link-local/);
  await fails('e5', { external: true, vni: 5 }, 'EINVAL', /Device is externally controlled/);
  await b.run({ id: 5, subject: 'ok', op: { op: 'link.add', ns, link: { kind: 'geneve', name: 'd1', geneve: { vni: 77, remote: '192.0.2.7' } } }, undo: null });
  await fails('e6', { vni: 77, remote: '192.0.2.7' }, 'EBUSY', /\(EBUSY\)/);
  if (kernelHasPortRange) await fails('e7', { vni: 2, remote: '192.0.2.2', srcport: { low: 6000, high: 5000 } }, 'EINVAL', /Invalid source port range/);
});
