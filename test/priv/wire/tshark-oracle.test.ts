/**
 * Cross-check: the project's decoder against tshark's dissectors (the oracle), field by field, on
 * crafted captures — well-formed (options, flags, VNIs, IPv4/IPv6 outers, a non-default port,
 * VXLAN, VLAN tags, the seed-004 OVN frames) and malformed (option overrun, bad version, Opt Len
 * beyond the payload, truncation), where tshark raises expert info and we must give a decode error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { tempDir } from '../../support/scratch.js';
import { execFileSync } from 'node:child_process';
import { decodeCapture, decodePcap } from '../../../lib/wire/index.js';
import { compare, tshark } from './tshark-oracle.js';
import { buildFrame, fromHexdump, writePcap, writePcapng, type FrameSpec } from '../../pure/wire/frame-builder.js';

const ovn = { class: 0x0102, type: 0x80, data: '00010002' };

/** A deterministic spread of well-formed frames. */
function variedFrames(): FrameSpec[] {
  let s = 12345;
  // Use the high bits: the low bits of this LCG cycle with a short period.
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) & 0x7fffffff), Math.floor((s / 0x80000000) * n));
  const classes = [0x0100, 0x0101, 0x0102, 0x0103, 0xfff0, 0xffff];
  const out: FrameSpec[] = [];
  for (let i = 0; i < 24; i++) {
    const options = Array.from({ length: rnd(4) }, () => ({
      class: classes[rnd(classes.length)]!,
      type: rnd(256),
      data: Buffer.from(Array.from({ length: 4 * rnd(4) }, () => rnd(256))).toString('hex'),
    }));
    const six = rnd(2) === 1;
    out.push({
      family: six ? 'ipv6' : 'ipv4',
      ...(six ? { src: `2001:db8::${i + 1}`, dst: '2001:db8:0:1::ff', tclass: rnd(256), flowlabel: rnd(0x100000), hlim: 1 + rnd(255) } : { src: `198.51.100.${i + 1}`, dst: '198.51.100.200', tos: rnd(256), ttl: 1 + rnd(255), df: rnd(2) === 1, id: rnd(65536) }),
      sport: 1024 + rnd(60000),
      checksum: rnd(3) === 0 ? 0 : 1 + rnd(65535),
      vni: rnd(3) === 0 ? 0xffffff : rnd(0x1000000),
      oam: rnd(4) === 0,
      critical: options.some((o) => o.type & 0x80),
      options,
      innerV6: rnd(3) === 0,
      vlan: rnd(5) === 0 ? 1 + rnd(4094) : undefined,
      innerSmac: '02:00:00:00:00:0a',
      innerDmac: '02:00:00:00:00:0b',
    });
  }
  out.push({ vni: 5, critical: true, options: [ovn] }); // the §5 vector
  out.push({ vni: 1, options: [{ class: 0x0101, type: 0x01, data: 'ab'.repeat(124) }] }); // longest option
  out.push({ encap: 'vxlan', vni: 4242, tos: 0x28 });
  out.push({ encap: 'vxlan', vni: 1, family: 'ipv6', innerV6: true });
  return out;
}

privTest(
  'decoder agrees with tshark on varied well-formed Geneve/VXLAN frames (pcap and pcapng)',
  (t) => {
    const dir = tempDir(t, 'gl-wire-');
    const frames = variedFrames().map(buildFrame);
    // Guard against a degenerate spread: both outer families, options, VLANs, OAM and VXLAN occur.
    const d = decodePcap(writePcap(frames));
    t.true(d.filter((p) => p.ipv6).length >= 5 && d.filter((p) => p.ip).length >= 5, 'both outer families');
    t.true(d.filter((p) => (p.geneve?.options.length ?? 0) >= 2).length >= 3, 'several multi-option frames');
    t.true(d.some((p) => p.link.vlans.length) && d.some((p) => p.geneve?.oam) && d.some((p) => p.inner?.family === 'ipv6'), 'VLAN, OAM, inner IPv6');
    for (const [name, bytes] of [['varied.pcap', writePcap(frames)], ['varied-be-nano.pcap', writePcap(frames, { bigEndian: true, nano: true })], ['varied.pcapng', writePcapng(frames)]] as const) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      compare(t, name, tshark(file), decodePcap(readFileSync(file)), new Set());
    }
    // pcapng as Wireshark's own tools write it (section/interface options, statistics blocks).
    const ng = join(dir, 'editcap.pcapng');
    execFileSync('editcap', ['-F', 'pcapng', join(dir, 'varied.pcap'), ng]);
    const fromNg = decodeCapture(readFileSync(ng));
    t.is(fromNg.format, 'pcapng');
    compare(t, 'editcap.pcapng', tshark(ng), fromNg.packets, new Set());
  },
  { tools: ['tshark'] },
);

privTest(
  'decoder agrees with tshark on a non-default port (decode-as udp.port==7000,geneve)',
  (t) => {
    const dir = tempDir(t, 'gl-wire-');
    const file = join(dir, 'port7000.pcap');
    writeFileSync(file, writePcap([
      buildFrame({ family: 'ipv6', tclass: 0x28, hlim: 33, checksum: 0, dport: 7000, vni: 77, flowlabel: 0x12345 }),
      buildFrame({ dport: 7000, vni: 0x7b, options: [ovn], critical: true }),
    ]));
    const ours = decodePcap(readFileSync(file), { genevePorts: [7000] });
    t.deepEqual(ours.map((p) => p.geneve?.vni), [77, 0x7b]);
    compare(t, 'port7000.pcap', tshark(file, ['udp.port==7000,geneve']), ours, new Set());
  },
  { tools: ['tshark'] },
);

privTest(
  'decoder agrees with tshark on the seed-004 OVN frames',
  (t) => {
    const dir = tempDir(t, 'gl-wire-');
    const seed = readFileSync(new URL('../../fixtures/pcap/seed004-ovn.txt', import.meta.url), 'utf8');
    const [req, rep] = seed.split('reply:');
    const file = join(dir, 'seed004.pcap');
    writeFileSync(file, writePcap([fromHexdump(req!.split('request:')[1]!), fromHexdump(rep!)]));
    const ours = decodePcap(readFileSync(file));
    t.deepEqual(ours.map((p) => p.geneve?.ovn), [{ ingress: 1, egress: 2 }, { ingress: 2, egress: 1 }]);
    compare(t, 'seed004.pcap', tshark(file), ours, new Set());
  },
  { tools: ['tshark'] },
);

privTest(
  'malformed frames: tshark raises expert info, our decoder a typed error, neither crashes',
  (t) => {
    const dir = tempDir(t, 'gl-wire-');
    const specs: FrameSpec[] = [
      { vni: 1, options: [ovn] }, // a good one, so the file is not all bad
      { vni: 9, options: [{ ...ovn, lenWords: 3 }] }, // option length beyond the options area
      { vni: 9, options: [ovn, { class: 0xfff0, type: 2, data: '', lenWords: 31 }] }, // second option overruns
      { version: 1, vni: 3 }, // unknown version
      { optLenWords: 63, payloadLen: 0 }, // Opt Len beyond the UDP payload
      { vni: 1, options: [ovn], truncateTo: 60 }, // inner Ethernet cut
      { vni: 1, options: [ovn], truncateTo: 54 }, // options cut
      { vni: 1, truncateTo: 46 }, // Geneve base header cut
      { encap: 'vxlan', vni: 5, truncateTo: 48 }, // VXLAN header cut
    ];
    const file = join(dir, 'malformed.pcap');
    writeFileSync(file, writePcap(specs.map(buildFrame)));
    const ours = decodePcap(readFileSync(file));
    t.deepEqual(ours.map((p) => p.error?.code), [undefined, 'option-overrun', 'option-overrun', 'bad-version', 'bad-length', 'truncated', 'truncated', 'truncated', 'truncated']);
    compare(t, 'malformed.pcap', tshark(file), ours, new Set([2, 3, 4, 5, 6, 7, 8, 9]));
  },
  { tools: ['tshark'] },
);
