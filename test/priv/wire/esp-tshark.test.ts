/**
 * Cross-check of ESP decryption: the project's decoder against tshark with
 * `esp.enable_encryption_decode` and the same keys (its `esp_sa` UAT), field by field, on the real
 * captures of test/fixtures/esp (kernel ESP made in the VM tier, each with the `ip xfrm state` that
 * made it). The keys reach tshark through this file's own reading of `ip xfrm state` text, not
 * through lib/ipsec, so the oracle shares no code with what it checks.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { privTest } from '../../support/priv.js';
import { decodeCapture, type EspSa } from '../../../lib/wire/index.js';

const FX = join(import.meta.dirname, '../../fixtures/esp');
const FIXTURES = ['gcm128-geneve', 'gcm256-gretap', 'cbc-sha1-vxlan', 'cbc-sha256-geneve6'];

interface OracleSa {
  src: string;
  dst: string;
  spi: string;
  enc: string;
  encKey: string;
  auth: string;
  authKey: string;
}

/** `ip xfrm state` text → SAs, by its own regular expressions. */
function readSas(text: string): OracleSa[] {
  return text
    .split(/^(?=src )/m)
    .filter((b) => b.startsWith('src '))
    .map((b) => {
      const [, src, dst] = /^src (\S+) dst (\S+)/.exec(b)!;
      const spi = /spi (0x[0-9a-f]+)/.exec(b)![1]!;
      const aead = /aead rfc4106\(gcm\(aes\)\) (0x[0-9a-f]+) (\d+)/.exec(b);
      if (aead) return { src: src!, dst: dst!, spi, enc: `AES-GCM with ${Number(aead[2]) / 8} octet ICV [RFC4106]`, encKey: aead[1]!, auth: 'NULL', authKey: '' };
      const enc = /enc cbc\(aes\) (0x[0-9a-f]+)/.exec(b)!;
      const auth = /auth-trunc hmac\((sha1|sha256)\) (0x[0-9a-f]+) (\d+)/.exec(b)!;
      return { src: src!, dst: dst!, spi, enc: 'AES-CBC [RFC3602]', encKey: enc[1]!, auth: auth[1] === 'sha1' ? 'HMAC-SHA-1-96 [RFC2404]' : 'HMAC-SHA-256-128 [RFC4868]', authKey: auth[2]! };
    });
}

const FIELDS = ['frame.number', 'esp.spi', 'esp.sequence', 'esp.pad_len', 'esp.protocol', 'esp.icv_good', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'udp.dstport', 'geneve.vni', 'vxlan.vni', 'gre.proto', 'gre.key', 'eth.src', 'eth.dst', 'icmp.type'] as const;
type Row = Record<(typeof FIELDS)[number], string>;

function tshark(file: string, sas: OracleSa[]): Row[] {
  const uat = sas.flatMap((s) => ['-o', `uat:esp_sa:"${s.src.includes(':') ? 'IPv6' : 'IPv4'}","${s.src}","${s.dst}","${s.spi}","${s.enc}","${s.encKey}","${s.auth}","${s.authKey}"`]);
  const args = ['-r', file, '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE', ...uat, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter(Boolean).map((l) => Object.fromEntries(FIELDS.map((f, i) => [f, l.split('|')[i] ?? ''])) as Row);
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
const last = (list: string) => list.split(',').filter(Boolean).at(-1) ?? '';

privTest('ESP decryption matches tshark (esp.enable_encryption_decode, esp_sa UAT) field by field on real captures', (t) => {
  for (const name of FIXTURES) {
    const text = readFileSync(join(FX, `${name}.xfrm.txt`), 'utf8');
    const oracle = readSas(text);
    // Our keyring, from the same text, built here without lib/ipsec.
    const sas: EspSa[] = oracle.map((s) => ({
      spi: parseInt(s.spi, 16),
      src: s.src,
      dst: s.dst,
      ...(s.auth === 'NULL' ? { aead: { name: 'rfc4106(gcm(aes))', key: Buffer.from(s.encKey.slice(2), 'hex'), icvBits: 128 } } : {
        enc: { name: 'cbc(aes)', key: Buffer.from(s.encKey.slice(2), 'hex') },
        auth: { name: s.auth.startsWith('HMAC-SHA-1') ? 'hmac(sha1)' : 'hmac(sha256)', key: Buffer.from(s.authKey.slice(2), 'hex'), truncBits: s.auth.startsWith('HMAC-SHA-1') ? 96 : 128 },
      }),
    }));
    const file = join(FX, `${name}.pcap`);
    const ours = decodeCapture(readFileSync(file), { espSas: sas }).packets;
    const theirs = tshark(file, oracle);
    t.is(theirs.length, ours.length, name);
    for (const [i, p] of ours.entries()) {
      const r = theirs[i]!;
      const at = `${name} frame ${p.index}`;
      t.is(r['esp.icv_good'].split(',')[0], '1', `${at}: tshark verified the ICV too`);
      t.is(r['esp.spi'], hex(p.esp!.spi, 8), `${at} esp.spi`);
      t.is(r['esp.sequence'], String(p.esp!.seq), `${at} esp.sequence`);
      t.is(r['esp.pad_len'], String(p.esp!.padLength), `${at} esp.pad_len`);
      t.is(r['esp.protocol'], hex(p.esp!.nextHeader!, 2), `${at} esp.protocol`);
      if (p.ipv6) t.is(r['ipv6.src'].split(',')[0], p.ipv6.src, `${at} outer ipv6.src`);
      else t.is(r['ip.src'].split(',')[0], p.ip!.src, `${at} outer ip.src`);
      t.is(r['udp.dstport'], p.udp ? String(p.udp.dstport) : '', `${at} udp.dstport (decrypted)`);
      t.is(r['geneve.vni'], p.geneve ? hex(p.geneve.vni, 6) : '', `${at} geneve.vni`);
      t.is(r['vxlan.vni'], p.vxlan ? String(p.vxlan.vni) : '', `${at} vxlan.vni`);
      t.is(r['gre.proto'], p.gre ? hex(p.gre.proto, 4) : '', `${at} gre.proto`);
      t.is(r['gre.key'], p.gre?.key !== undefined ? hex(p.gre.key, 8) : '', `${at} gre.key`);
      t.is(last(r['eth.src']), p.inner?.smac ?? '', `${at} inner eth.src`);
      t.is(last(r['eth.dst']), p.inner?.dmac ?? '', `${at} inner eth.dst`);
      if (p.inner?.family === 'ipv4') t.is(last(r['ip.dst']), p.inner.dst!, `${at} inner ip.dst`);
      if (p.inner?.family === 'ipv6') t.is(last(r['ipv6.dst']), p.inner.dst!, `${at} inner ipv6.dst`);
    }
  }
}, { tools: ['tshark'] });

privTest('with a wrong key tshark reports a bad ICV where the decoder reports esp-auth-failed', (t) => {
  const name = 'gcm256-gretap';
  const oracle = readSas(readFileSync(join(FX, `${name}.xfrm.txt`), 'utf8')).map((s) => ({ ...s, encKey: s.encKey.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }));
  const rows = tshark(join(FX, `${name}.pcap`), oracle);
  t.true(rows.every((r) => r['esp.icv_good'] !== '1' && r['gre.proto'] === ''), JSON.stringify(rows.slice(0, 2)));
  const sas: EspSa[] = oracle.map((s) => ({ spi: parseInt(s.spi, 16), dst: s.dst, aead: { name: 'rfc4106(gcm(aes))', key: Buffer.from(s.encKey.slice(2), 'hex'), icvBits: 128 } }));
  const ours = decodeCapture(readFileSync(join(FX, `${name}.pcap`)), { espSas: sas }).packets;
  t.true(ours.every((p) => p.error?.code === 'esp-auth-failed' && !p.gre));
}, { tools: ['tshark'] });
