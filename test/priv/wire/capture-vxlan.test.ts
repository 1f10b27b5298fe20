/**
 * A real capture: two namespaces joined by a veth underlay, a kernel VXLAN netdev in each, a ping
 * through the overlay while startCapture runs on the underlay veth. Our decoder's view must match
 * the kernel's configuration and tshark's dissection of the same file.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';
import { scratchNamespaces, tempDir } from '../../support/scratch.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { matchCapture, runCaptureCheck, startCapture } from '../../../lib/checks/capture.js';
import type { CheckContext } from '../../../lib/checks/context.js';
import type { Lab } from '../../../lib/model/types.js';
import { decodePcap } from '../../../lib/wire/index.js';
import { compare, tshark } from './tshark-oracle.js';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const exec = new LocalExecutor();

/** Build the two-namespace VXLAN lab (IPv4 or IPv6 underlay); everything is removed by t.teardown. */
function vxlanLab(t: ExecutionContext, family: 'ipv4' | 'ipv6' = 'ipv4') {
  const a = randomLabName('gwa');
  const b = randomLabName('gwb');
  const dir = tempDir(t, 'gl-cap-');
  scratchNamespaces(t, a, b);
  // Created inside the namespaces, so nothing ever appears in the root namespace.
  ip('-n', a, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', b);
  const v6 = family === 'ipv6';
  const under = v6 ? ['2001:db8:77::1', '2001:db8:77::2'] : ['198.51.100.1', '198.51.100.2'];
  const tunnel = v6
    ? ['id', '77', 'dstport', '4789', 'tos', '0x28', 'ttl', '33', 'flowlabel', '0x12345', 'udp6zerocsumtx', 'udp6zerocsumrx']
    : ['id', '4242', 'dstport', '4789', 'tos', '0x28', 'ttl', '17'];
  for (const [ns, me, peer, ov] of [[a, under[0]!, under[1]!, '203.0.113.1'], [b, under[1]!, under[0]!, '203.0.113.2']] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${me}/${v6 ? 64 : 24}`, 'dev', 'ul0', ...(v6 ? ['nodad'] : []));
    ip('-n', ns, 'link', 'set', 'ul0', 'up');
    ip('-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', ...tunnel, 'local', me, 'remote', peer, 'dev', 'ul0');
    ip('-n', ns, 'addr', 'add', `${ov}/24`, 'dev', 'vx0');
    ip('-n', ns, 'link', 'set', 'vx0', 'up');
  }
  const macOf = (ns: string) => (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'vx0')) as { address: string }[])[0]!.address;
  return { a, b, dir, under, macA: macOf(a), macB: macOf(b) };
}

/** The oracle reads the very same file: tshark's dissection and our decoder agree field by field. */
const tsharkAgrees = (t: ExecutionContext, file: string) => compare(t, file, tshark(file), decodePcap(readFileSync(file)), new Set());

const ping = (ns: string, to: string, count = 3) => exec.run(['ip', 'netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', to]);

privTest(
  'startCapture on a VXLAN underlay: VNI, outer and inner addresses decoded, tshark agrees',
  async (t) => {
    const lab = vxlanLab(t);
    const file = join(lab.dir, 'underlay.pcap');
    const cap = await startCapture({ exec, ns: lab.a }, 'ul0', { file, filter: 'udp port 4789' });
    // Ping at once: startCapture must only return when tcpdump already listens, so echo #1 is on file.
    const pr = await ping(lab.a, '203.0.113.2');
    const { packets, stats } = await cap.stop();
    t.is(pr.exitCode, 0, pr.stdout + pr.stderr);
    t.true(packets.length >= 6, `captured ${packets.length}`);
    t.is(stats.captured, packets.length, "tcpdump's own count equals what we read from the file");
    t.true(packets.every((p) => p.encap === 'vxlan' && !p.error));
    const requests = packets.filter((p) => p.inner?.src === '203.0.113.1' && p.inner.proto === 1);
    const replies = packets.filter((p) => p.inner?.src === '203.0.113.2' && p.inner.proto === 1);
    t.is(requests.length, 3, 'all three echo requests, including the first, were captured');
    t.is(replies.length, 3);
    for (const p of requests) {
      t.like(p, {
        outer: { family: 'ipv4', src: '198.51.100.1', dst: '198.51.100.2' },
        ip: { tos: 0x28, ttl: 17 },
        udp: { dstport: 4789 },
        vxlan: { vni: 4242, vniValid: true },
        inner: { family: 'ipv4', dst: '203.0.113.2', smac: lab.macA, dmac: lab.macB },
      });
    }
    const ok = matchCapture(packets, { 'vxlan.vni': 4242, 'outer.src': '198.51.100.1', 'outer.dst': '198.51.100.2', 'ip.tos': 0x28, 'ip.ttl': 17, 'udp.dstport': 4789, 'inner.src': '203.0.113.1', 'inner.dst': '203.0.113.2', 'inner.smac': lab.macA }, 3);
    t.true(ok.ok, ok.message);
    t.is(ok.matched, 3);
    const wrong = matchCapture(packets, { 'vxlan.vni': 4243, 'ip.tos': 0x10 }, 3);
    t.false(wrong.ok);
    t.regex(wrong.message, /^expected vxlan.vni 4243, ip.tos 0x10 in ≥3 packets, 0 matched; saw \d+ vxlan packets with vxlan.vni 4242 ×\d+; ip.tos 0x28 ×\d+/);
    // The oracle reads the very same file.
    tsharkAgrees(t, file);
  },
  { tools: ['tcpdump', 'tshark', 'ping'] },
);

privTest(
  'IPv6 underlay: traffic class, hop limit, flow label and zero UDP checksums seen on the wire, tshark agrees',
  async (t) => {
    const lab = vxlanLab(t, 'ipv6');
    const file = join(lab.dir, 'v6.pcap');
    const cap = await startCapture({ exec, ns: lab.b }, 'ul0', { file, filter: 'udp port 4789' });
    const pr = await ping(lab.a, '203.0.113.2', 2);
    const { packets } = await cap.stop();
    t.is(pr.exitCode, 0, pr.stdout + pr.stderr);
    const expect = { 'vxlan.vni': 77, 'outer.src': lab.under[0], 'outer.dst': lab.under[1], 'ipv6.tclass': '0x28', 'ipv6.hlim': 33, 'ipv6.flowlabel': 0x12345, 'udp.checksum': 'zero', 'inner.dst': '203.0.113.2' };
    const ok = matchCapture(packets, expect, 2);
    t.true(ok.ok, ok.message);
    const wrong = matchCapture(packets, { ...expect, 'udp.checksum': 'nonzero' }, 2);
    t.false(wrong.ok);
    t.regex(wrong.message, /udp.checksum 0x0 ×\d+/);
    tsharkAgrees(t, file);
  },
  { tools: ['tcpdump', 'tshark', 'ping'] },
);

privTest(
  'startCapture on "any" (Linux cooked SLL2 link type) decodes the same VXLAN packets',
  async (t) => {
    const lab = vxlanLab(t);
    const file = join(lab.dir, 'any.pcap');
    const cap = await startCapture({ exec, ns: lab.b }, 'any', { file, filter: 'udp port 4789' });
    const pr = await ping(lab.a, '203.0.113.2', 2);
    const { packets } = await cap.stop();
    t.is(pr.exitCode, 0);
    t.true(packets.length >= 4);
    t.true(packets.every((p) => (p.link.type === 'sll2' || p.link.type === 'sll') && p.vxlan?.vni === 4242 && !p.error), JSON.stringify(packets[0]?.link));
    t.is(packets.filter((p) => p.inner?.src === '203.0.113.1' && p.inner.proto === 1).length, 2);
    tsharkAgrees(t, file);
  },
  { tools: ['tcpdump', 'tshark', 'ping'] },
);

privTest(
  'runCaptureCheck: passes on the real lab, fails naming the VNI seen, errors clearly on a bad interface',
  async (t) => {
    const lab = vxlanLab(t);
    const ctx: CheckContext = {
      lab: { name: 'wiretest', tunnels: [] } as unknown as Lab,
      endpoint: (name) => ({ name, ns: lab.a, exec, addresses: [] }),
      address: (n) => n,
      artifactsDir: lab.dir,
    };
    const check = { kind: 'capture' as const, name: 'underlay vni', host: 'a', ifname: 'ul0', during: 'ping', atLeast: 2, expect: { vxlan: { vni: 4242 }, 'inner.dst': '203.0.113.2' } };
    const pass = await runCaptureCheck(ctx, check, () => ping(lab.a, '203.0.113.2', 2));
    t.is(pass.status, 'passed', pass.message);
    t.like(pass.figures, { matched: 2, at_least: 2, pcap: join(lab.dir, 'underlay_vni.pcap') });
    const fail = await runCaptureCheck(ctx, { ...check, expect: { 'vxlan.vni': 7 } }, () => ping(lab.a, '203.0.113.2', 2));
    t.is(fail.status, 'failed');
    t.regex(fail.message!, /expected vxlan.vni 7 in ≥2 packets, 0 matched; saw \d+ vxlan packets with vxlan.vni 4242/);
    const err = await runCaptureCheck(ctx, { ...check, ifname: 'nosuch0' }, () => ping(lab.a, '203.0.113.2', 1));
    t.log(fail.message); t.log(err.message);
    t.is(err.status, 'error');
    t.regex(err.message!, /capture on nosuch0 \(netns gwa[0-9a-f]+\): tcpdump exited \(code \d+\) before it started listening: .*nosuch0/);
    t.regex(err.message!, /request: ip netns exec gwa[0-9a-f]+ tcpdump -i nosuch0/);
  },
  { tools: ['tcpdump', 'ping'] },
);
