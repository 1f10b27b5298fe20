/**
 * The two ends of a `transfer` check, as one self-contained Node.js script run with
 * `node -e AGENT_SOURCE MODE --key value …` inside a lab namespace (locally) or on an SSH host
 * (any Node ≥ 16 there): no nc/socat, no file to copy. It uses only net, dgram and crypto.
 *
 *   recv --proto tcp|udp --host ADDR --port P --timeout MS [--idle MS]
 *        listens (prints {"listening":P}), takes one TCP connection (or UDP datagrams of ours), prints:
 *        {"bytes":N,"sha256":"…","ms":T} (+ "datagrams","expected" for UDP), or {"error":…}
 *   send --proto tcp|udp --host ADDR --port P --bytes N --seed S [--chunk C --rate BPS]
 *        sends the seeded payload, prints {"bytes":N,"sha256":"…","ms":T} or {"error":…}
 *
 * The payload is SHA-256 in counter mode: block i = sha256("geneve-lab transfer" ‖ seed ‖ i),
 * both 32-bit big-endian; `payloadSha256` computes its digest here, independently of the agent.
 * UDP datagrams carry a 12-byte header: "GLT1", sequence number, datagram count.
 */
import { createHash } from 'node:crypto';

export const AGENT_SOURCE = String.raw`
'use strict';
const net = require('net'), dgram = require('dgram'), crypto = require('crypto');
const argv = process.argv.slice(1);
const mode = argv[0];
const o = {};
for (let i = 1; i + 1 < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
const out = (x) => process.stdout.write(JSON.stringify(x) + '\n');
const die = (x, code) => { out(x); process.exit(code); };
const port = Number(o.port), host = o.host, timeout = Number(o.timeout || 30000);
function* blocks(n, seed) {
  const b = Buffer.alloc(8);
  let made = 0, buf = [], len = 0;
  for (let i = 0; made < n; i++) {
    b.writeUInt32BE(seed >>> 0, 0); b.writeUInt32BE(i >>> 0, 4);
    const d = crypto.createHash('sha256').update('geneve-lab transfer').update(b).digest();
    const take = Math.min(d.length, n - made);
    buf.push(take === d.length ? d : d.subarray(0, take)); len += take; made += take;
    if (len >= 65536 || made >= n) { yield Buffer.concat(buf); buf = []; len = 0; }
  }
}
const t0 = Date.now();
setTimeout(() => die({ error: 'timed out after ' + timeout + ' ms', bytes: got() }, 3), timeout).unref();
let got = () => 0;
process.on('SIGTERM', () => die({ error: 'stopped before the transfer ended', bytes: got() }, 4));
if (mode === 'recv' && o.proto === 'tcp') {
  const h = crypto.createHash('sha256'); let n = 0; let start;
  got = () => n;
  const srv = net.createServer((s) => {
    srv.close(); start = Date.now();
    s.on('data', (d) => { h.update(d); n += d.length; });
    s.on('end', () => die({ bytes: n, sha256: h.digest('hex'), ms: Date.now() - start }, 0));
    s.on('error', (e) => die({ error: 'receiving: ' + e.message, bytes: n }, 2));
  });
  srv.on('error', (e) => die({ error: 'listening on ' + host + ' port ' + port + ': ' + e.message }, 2));
  srv.listen({ port, host }, () => out({ listening: port }));
} else if (mode === 'recv' && o.proto === 'udp') {
  const idle = Number(o.idle || 2000);
  const chunks = new Map(); let expected, bytes = 0, start, idleTimer;
  got = () => bytes;
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const finish = () => {
    const parts = [];
    for (let i = 0; i < (expected || 0); i++) if (chunks.has(i)) parts.push(chunks.get(i));
    const all = Buffer.concat(parts);
    die({ bytes: all.length, sha256: crypto.createHash('sha256').update(all).digest('hex'), ms: start ? Date.now() - start : 0, datagrams: chunks.size, expected: expected || 0 }, 0);
  };
  sock.on('message', (m) => {
    if (m.length < 12 || m.toString('latin1', 0, 4) !== 'GLT1') return;
    const seq = m.readUInt32BE(4); expected = m.readUInt32BE(8);
    if (!start) start = Date.now();
    if (!chunks.has(seq)) { chunks.set(seq, m.subarray(12)); bytes += m.length - 12; }
    clearTimeout(idleTimer);
    if (chunks.size === expected) return finish();
    idleTimer = setTimeout(finish, idle);
  });
  sock.on('error', (e) => die({ error: 'listening on ' + host + ' port ' + port + ': ' + e.message }, 2));
  sock.bind(port, host, () => {
    // A bigger receive buffer rides out event-loop pauses (capped by net.core.rmem_max).
    try { sock.setRecvBufferSize(8 << 20); } catch {}
    out({ listening: port, rcvbuf: sock.getRecvBufferSize() });
  });
} else if (mode === 'send' && o.proto === 'tcp') {
  const n = Number(o.bytes), seed = Number(o.seed || 0);
  const h = crypto.createHash('sha256'); let sent = 0;
  got = () => sent;
  const s = net.connect({ port, host }, () => {
    const it = blocks(n, seed);
    const pump = () => {
      for (;;) {
        const r = it.next();
        if (r.done) return s.end();
        h.update(r.value); sent += r.value.length;
        if (!s.write(r.value)) return s.once('drain', pump);
      }
    };
    pump();
  });
  s.on('error', (e) => die({ error: 'sending to ' + host + ' port ' + port + ': ' + e.message, bytes: sent }, 2));
  s.on('close', (hadError) => { if (!hadError) die({ bytes: sent, sha256: h.digest('hex'), ms: Date.now() - t0 }, 0); });
} else if (mode === 'send' && o.proto === 'udp') {
  const n = Number(o.bytes), seed = Number(o.seed || 0), chunk = Number(o.chunk || 1200), rate = Number(o.rate || 50e6);
  const h = crypto.createHash('sha256'); let sent = 0;
  got = () => sent;
  const all = Buffer.concat([...blocks(n, seed)]);
  h.update(all);
  const total = Math.ceil(n / chunk);
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', (e) => die({ error: 'sending to ' + host + ' port ' + port + ': ' + e.message, bytes: sent }, 2));
  const perDatagramMs = ((chunk + 12 + 48) * 8 * 1000) / rate;
  (async () => {
    const start = Date.now();
    for (let seq = 0; seq < total; seq++) {
      const head = Buffer.alloc(12); head.write('GLT1', 0, 'latin1'); head.writeUInt32BE(seq, 4); head.writeUInt32BE(total, 8);
      const body = all.subarray(seq * chunk, Math.min(n, (seq + 1) * chunk));
      await new Promise((res, rej) => sock.send(Buffer.concat([head, body]), port, host, (e) => (e ? rej(e) : res())));
      sent += body.length;
      const ahead = start + (seq + 1) * perDatagramMs - Date.now();
      if (ahead > 2) await new Promise((r) => setTimeout(r, ahead));
    }
    sock.close();
    die({ bytes: sent, sha256: h.digest('hex'), ms: Date.now() - t0, datagrams: total }, 0);
  })().catch((e) => die({ error: 'sending to ' + host + ' port ' + port + ': ' + e.message, bytes: sent }, 2));
} else {
  die({ error: 'usage: recv|send --proto tcp|udp --host ADDR --port P …' }, 64);
}
`;

/** SHA-256 (hex) of the `bytes`-long payload of `seed`, computed independently of the agent. */
export function payloadSha256(bytes: number, seed: number): string {
  const h = createHash('sha256');
  const b = Buffer.alloc(8);
  let made = 0;
  for (let i = 0; made < bytes; i++) {
    b.writeUInt32BE(seed >>> 0, 0);
    b.writeUInt32BE(i >>> 0, 4);
    const d = createHash('sha256').update('geneve-lab transfer').update(b).digest();
    const take = Math.min(d.length, bytes - made);
    h.update(take === d.length ? d : d.subarray(0, take));
    made += take;
  }
  return h.digest('hex');
}

export interface AgentReport {
  bytes?: number;
  sha256?: string;
  ms?: number;
  datagrams?: number;
  expected?: number;
  error?: string;
}

/** The agent's JSON line (the last one that parses), or undefined. */
export function parseAgentReport(stdout: string): AgentReport | undefined {
  const lines = stdout.split('\n').filter((l) => l.trim().startsWith('{') && !l.includes('"listening"'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]!) as AgentReport;
    } catch {
      /* a cut line: try the one before */
    }
  }
  return undefined;
}
