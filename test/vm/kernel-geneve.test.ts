/**
 * VM tier: runs INSIDE `geneve-lab vm --exec -- node test/support/run-tests.js 'test/vm/**\/*.test.ts'`,
 * where the kernel has geneve. Kernel geneve between two namespaces, built with plain `ip`,
 * checked on the wire: capture on the underlay, decode with tshark (the oracle).
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privReason, randomLabName } from '../support/priv.js';

const inVm = process.env.GENEVE_LAB_IN_VM === '1';
const reason = !inVm ? 'VM tier: run through geneve-lab vm --exec (GENEVE_LAB_IN_VM is not set)' : privReason(['ip', 'tcpdump', 'tshark', 'ping']);

function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

if (reason) {
  process.stderr.write(`\n!!! VM-TIER TEST NOT RUN (${reason})\n`);
  test.skip(`kernel geneve on the wire [NOT RUN: ${reason}]`, () => {});
} else {
  test.serial('kernel geneve: VNI, dstport 7000, ttl 33, tos 0x28 on the wire; traffic crosses the tunnel', async (t) => {
    const a = randomLabName('va');
    const b = randomLabName('vb');
    const dir = mkdtempSync(join(tmpdir(), 'gl-vmtier-'));
    t.teardown(() => {
      for (const ns of [a, b]) {
        try {
          sh(['ip', 'netns', 'del', ns]);
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });
    sh(['modprobe', 'geneve']);
    sh(['ip', 'netns', 'add', a]);
    sh(['ip', 'netns', 'add', b]);
    sh(['ip', '-n', a, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', b]);
    const side = (ns: string, self: string, peer: string, overlay: string) => {
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', ns, 'addr', 'add', `${self}/24`, 'dev', 'ul0']);
      sh(['ip', '-n', ns, 'link', 'set', 'ul0', 'up']);
      sh(['ip', '-n', ns, 'link', 'add', 'gnv0', 'type', 'geneve', 'id', '4242', 'remote', peer, 'dstport', '7000', 'ttl', '33', 'tos', '0x28']);
      sh(['ip', '-n', ns, 'addr', 'add', `${overlay}/24`, 'dev', 'gnv0']);
      sh(['ip', '-n', ns, 'link', 'set', 'gnv0', 'up']);
    };
    side(a, '192.0.2.1', '192.0.2.2', '198.51.100.1');
    side(b, '192.0.2.2', '192.0.2.1', '198.51.100.2');

    // Read back what the kernel made (independent of any library code).
    const info = JSON.parse(sh(['ip', '-n', a, '-d', '-j', 'link', 'show', 'gnv0']))[0].linkinfo;
    t.is(info.info_kind, 'geneve');
    t.like(info.info_data, { id: 4242, remote: '192.0.2.2', ttl: 33, tos: '0x28', port: 7000 });

    const pcap = join(dir, 'ul.pcap');
    const cap = spawn('ip', ['netns', 'exec', a, 'tcpdump', '-Z', 'root', '-U', '-n', '-i', 'ul0', '-w', pcap, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.teardown(() => {
      cap.kill('SIGKILL');
    });
    await new Promise<void>((res, rej) => {
      let err = '';
      const timer = setTimeout(() => rej(new Error(`tcpdump did not start: ${err}`)), 20000);
      cap.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      cap.on('exit', () => rej(new Error(`tcpdump exited: ${err}`)));
    });
    const ping = sh(['ip', 'netns', 'exec', a, 'ping', '-c', '3', '-i', '0.2', '-W', '5', '198.51.100.2']);
    t.regex(ping, /3 packets transmitted, 3 received/);
    // tcpdump may still be reading packets from its buffer (slow under TCG): stop it only once
    // the capture file has stopped growing.
    let size = -1;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const now = statSync(pcap, { throwIfNoEntry: false })?.size ?? 0;
      if (now === size && now > 0) break;
      size = now;
    }
    const exited = new Promise((r) => cap.once('exit', r));
    cap.kill('SIGINT');
    await exited;

    // occurrence=f: the first ip.* of each packet is the OUTER (underlay) header; the inner
    // ICMP packet has its own ip.ttl/ip.dsfield.
    const rows = sh(['tshark', '-r', pcap, '-d', 'udp.port==7000,geneve', '-Y', 'geneve && icmp', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f', '-e', 'geneve.vni', '-e', 'udp.dstport', '-e', 'ip.ttl', '-e', 'ip.dsfield', '-e', 'ip.src'])
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    t.true(rows.length === 6, `expected 6 geneve packets carrying ICMP (3 echo requests + 3 replies), got ${rows.length}`);
    for (const [vni, dport, ttl, dsfield] of rows) {
      t.is(Number(vni), 4242);
      t.is(Number(dport), 7000);
      t.is(Number(ttl), 33);
      t.is(Number(dsfield), 0x28);
    }
    t.deepEqual([...new Set(rows.map((r) => r[4]))].sort(), ['192.0.2.1', '192.0.2.2'], 'both directions are encapsulated');
  });
}
