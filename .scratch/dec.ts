import { readFileSync } from 'node:fs';
import { decodeCapture } from '../lib/wire/index.js';
import { espKeyring, parseXfrmStates } from '../lib/ipsec/xfrm.js';
for (const n of ['gcm128-geneve', 'gcm256-gretap', 'cbc-sha1-vxlan', 'cbc-sha256-geneve6']) {
  const sas = espKeyring(parseXfrmStates(readFileSync(`test/fixtures/esp/${n}.xfrm.txt`, 'utf8')));
  const { packets } = decodeCapture(readFileSync(`test/fixtures/esp/${n}.pcap`), { espSas: sas });
  console.log(n, sas.length, 'SAs');
  for (const p of packets) console.log(' ', p.index, p.outer?.src, '→', p.outer?.dst, JSON.stringify(p.esp), p.encap, p.geneve?.vni ?? p.vxlan?.vni ?? p.gre?.key, p.inner?.src, p.inner?.dst, p.inner?.proto, p.error?.message ?? '');
}
