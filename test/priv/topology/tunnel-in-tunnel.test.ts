/**
 * A tunnel inside a tunnel on real namespaces (issue 14, item 7): recipes/tunnel-in-tunnel.yaml —
 * VXLAN 43 (port 4790) between the hosts' bridges, running inside the routed VXLAN tunnel 42
 * (port 4789) — carries the guests' pings, and every packet on the underlay carries two
 * encapsulations. tshark (the oracle, independent of lib/wire) and geneve-lab's own decoder see
 * the same two levels; the recipe's capture check passes, and fails when it expects the wrong VNI.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { decodePcap } from '../../../lib/wire/index.js';
import { NOTHING_LEFT, leftovers, recipeCopy } from '../ovs-recipes/support.js';

const TOOLS = { tools: ['ping', 'tcpdump', 'tshark'] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

privTest('tunnel-in-tunnel: guests talk through VXLAN inside VXLAN; tshark and our decoder both see two encapsulations on the wire', async (t) => {
  const c = recipeCopy(t, 'tunnel-in-tunnel.yaml');
  const ns = (n: string) => `gl-${c.lab}-${n}`;
  const up = c.g(['up', '--no-checks', c.file]);
  t.is(up.code, 0, up.stdout + up.stderr);

  // The kernel's devices: inner's underlay is outer's addresses, on its own port.
  const dev = (host: string, name: string) => JSON.parse(execFileSync('ip', ['-n', ns(host), '-d', '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' }))[0];
  t.like(dev('box-1', 'inner').linkinfo.info_data, { id: 43, port: 4790, remote: '198.51.100.2', local: '198.51.100.1' });
  t.like(dev('box-1', 'outer').linkinfo.info_data, { id: 42, port: 4789, remote: '192.0.2.12', local: '192.0.2.11' });
  t.is(dev('left', 'eth0').mtu, 1400, '1500 − 50 − 50');

  // Capture on box-2's underlay NIC by hand, while the guests ping.
  const dir = mkdtempSync(join(tmpdir(), 'gl-tit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'underlay.pcap');
  const dump = spawn('ip', ['netns', 'exec', ns('box-2'), 'tcpdump', '-n', '-U', '-i', 'underlay', '-w', pcap, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  dump.stderr.on('data', (d) => (err += d));
  const stopped = new Promise((res) => dump.on('close', res));
  t.teardown(() => void dump.kill('SIGKILL'));
  for (let i = 0; i < 100 && !/listening on/.test(err); i++) await sleep(100);
  execFileSync('ip', ['netns', 'exec', ns('left'), 'ping', '-n', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2'], { stdio: 'ignore' });
  // Let tcpdump write what it has read before it stops (a loaded machine is slow to drain).
  await sleep(1500);
  dump.kill('SIGINT');
  await stopped;

  const rows = execFileSync('tshark', ['-r', pcap, '-d', 'udp.port==4790,vxlan', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'vxlan.vni', '-e', 'udp.dstport', '-e', 'ip.src', '-e', 'icmp.type'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'));
  const requests = rows.filter((r) => r[3] === '8');
  t.true(requests.length >= 5, `${requests.length} echo requests in ${rows.length} frames; tcpdump: ${err.trim()} — frames: ${rows.map((r) => r.join(' ')).join(' / ')}`);
  for (const r of requests) t.deepEqual(r.slice(0, 3), ['42,43', '4789,4790', '192.0.2.11,198.51.100.1,203.0.113.1'], 'outer VXLAN 42 around inner VXLAN 43 around the guest\'s ICMP');

  const ours = decodePcap(readFileSync(pcap), { vxlanPorts: [4789, 4790] }).filter((p) => p.nested?.inner?.proto === 1 && p.nested.inner.src === '203.0.113.1');
  t.is(ours.length, requests.length, 'our decoder finds the same packets');
  for (const p of ours) t.like(p, { vxlan: { vni: 42 }, udp: { dstport: 4789 }, inner: { src: '198.51.100.1', dst: '198.51.100.2', proto: 17 }, nested: { vxlan: { vni: 43 }, udp: { dstport: 4790 }, inner: { dst: '203.0.113.2' } } });

  // The recipe's own checks, through the CLI.
  const r = c.g(['check', '--json', c.file]);
  const b = Object.fromEntries((JSON.parse(r.stdout).checks as any[]).map((x) => [x.name, x]));
  t.is(r.code, 0, r.stdout + r.stderr);
  t.is(b['two-encapsulations']?.status, 'passed');
  t.true(Number(b['two-encapsulations'].figures.matched) >= 5);
  t.like(b['guest-mtu']?.figures, { path_mtu: 1400, expected_mtu: 1400 });
  t.is(c.g(['down', c.lab]).code, 0);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, TOOLS);

privTest('tunnel-in-tunnel: a capture expecting the wrong inner VNI fails and names the VNI it saw', async (t) => {
  const c = recipeCopy(t, 'tunnel-in-tunnel.yaml', (s) => s.replace('nested.vxlan.vni: 43', 'nested.vxlan.vni: 44'));
  const r = c.g(['run', '--json', c.file]);
  t.is(r.code, 1, r.stdout + r.stderr);
  const cap = (JSON.parse(r.stdout).checks as any[]).find((x) => x.name === 'two-encapsulations');
  t.is(cap.status, 'failed');
  t.regex(cap.message, /^expected .*nested\.vxlan\.vni 44.* in ≥5 packets, 0 matched; saw \d+ vxlan packets with /);
  t.regex(cap.message, /; nested\.vxlan\.vni 43 ×\d+/, 'the VNI it saw inside the tunnel');
  t.deepEqual(leftovers(c), NOTHING_LEFT);
}, TOOLS);
