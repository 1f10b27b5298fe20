/** capture: the pcap stream read as it arrives, the interface chosen, the tcpdump argv, the one-line view. */
import test from 'ava';
import { twoSwitchLab } from './fixture.js';
import { PcapStream } from '../../../lib/inspect/pcap-stream.js';
import { captureTarget, dieWithParent, parseCaptureWhere, tcpdumpArgv } from '../../../lib/inspect/capture-live.js';
import { nodeTarget } from '../../../lib/inspect/target.js';
import { decodeRecord } from '../../../lib/wire/decode.js';
import { summarizePacket } from '../../../lib/engine/controller.js';
import { packetLine } from '../../../lib/ui/packet-lines.js';
import { UsageError } from '../../../lib/errors.js';
import { buildFrame, writePcap, writePcapng } from '../wire/frame-builder.js';

const lab = twoSwitchLab('tbc', 'type: geneve, vni: 5');

test('records come out as soon as they are complete, whatever the chunking', (t) => {
  const frames = [buildFrame({ vni: 1 }), buildFrame({ vni: 2 }), buildFrame({ vni: 3 })];
  const file = writePcap(frames);
  for (const size of [1, 7, 16, 100, file.length]) {
    const s = new PcapStream();
    const got = [];
    for (let off = 0; off < file.length; off += size) got.push(...s.push(file.subarray(off, off + size)));
    t.deepEqual(got.map((r) => r.index), [1, 2, 3], `chunks of ${size}`);
    t.deepEqual(got.map((r) => decodeRecord(r).geneve?.vni), [1, 2, 3]);
    t.is(s.leftover, 0);
  }
  const s = new PcapStream();
  t.deepEqual(s.push(file.subarray(0, file.length - 5)).length, 2);
  t.is(s.leftover, file.length - 5 - 24 - 2 * (16 + frames[0]!.length));
});

test('a pcapng stream is refused with what is supported', (t) => {
  t.throws(() => new PcapStream().push(writePcapng([buildFrame()])), { message: /only classic pcap/ });
});

test('one line a packet: outer, VNI, options, inner', (t) => {
  const rec = new PcapStream().push(writePcap([buildFrame({ vni: 77, options: [{ class: 0x0102, type: 0x80, data: '00010002' }] } as never)]))[0]!;
  const line = packetLine(summarizePacket(decodeRecord(rec)));
  t.false(line.includes('\n'));
  t.regex(line, /^1 0\.000s \S+ → \S+ GENEVE \d+ B \| geneve vni 77 .*opts 0102:80\(C\)=00010002/);
  t.regex(line, /\| inner \S+ → \S+/);
});

test('NODE[:IFACE]', (t) => {
  t.deepEqual(parseCaptureWhere('h1'), { node: 'h1' });
  t.deepEqual(parseCaptureWhere('h1:underlay'), { node: 'h1', iface: 'underlay' });
  t.throws(() => parseCaptureWhere('h1:'), { instanceOf: UsageError });
});

test('the interface: the node\'s own by default, recipe names resolved, an OVS tunnel port on the underlay', (t) => {
  const h1 = lab.hosts[0]!.interfaces[0]!.ifname;
  t.deepEqual(captureTarget(lab, nodeTarget(lab, 'g1'), undefined), { ifname: 'eth0' });
  t.deepEqual(captureTarget(lab, nodeTarget(lab, 'h1'), undefined), { ifname: h1 });
  t.deepEqual(captureTarget(lab, nodeTarget(lab, 'h1'), 'underlay'), { ifname: h1 });
  t.deepEqual(captureTarget(lab, nodeTarget(lab, 'g1'), 'any'), { ifname: 'any' });
  const ovsPort = captureTarget(lab, nodeTarget(lab, 'ovs1'), 't1');
  t.is(ovsPort.ifname, h1);
  t.is(ovsPort.filter, 'udp');
  t.regex(ovsPort.note!, /OVS tunnel port/);
  // The kernel end is a device of its own.
  t.deepEqual(captureTarget(lab, nodeTarget(lab, 'br2'), 't1'), { ifname: lab.tunnels[0]!.ends[1]!.ifname });
  t.throws(() => captureTarget(lab, nodeTarget(lab, 'g1'), 'nope'), { instanceOf: UsageError, message: /guest "g1" has no interface "nope"; its interfaces: lo, g1 \(eth0\)/ });
});

test('tcpdump writes pcap to stdout a packet at a time; the filter stays one argv element', (t) => {
  const a = tcpdumpArgv('eth0', { count: 3, filter: 'udp port 6081' });
  t.deepEqual(a.slice(-3), ['-c', '3', 'udp port 6081']);
  t.true(a.includes('-U'));
  t.deepEqual(a.slice(a.indexOf('-w'), a.indexOf('-w') + 2), ['-w', '-']);
  t.false(tcpdumpArgv('eth0', {}).includes('-c'));
});

test('a local tcpdump is tied to our life; one over ssh is not wrapped', (t) => {
  t.deepEqual(dieWithParent({ argv: ['ip', 'netns', 'exec', 'x', 'tcpdump'] }, true).argv.slice(0, 4), ['setpriv', '--pdeathsig', 'TERM', '--']);
  t.deepEqual(dieWithParent({ argv: ['ssh', 'x'] }, true).argv, ['ssh', 'x']);
  t.deepEqual(dieWithParent({ argv: ['tcpdump'] }, false).argv, ['tcpdump']);
});
