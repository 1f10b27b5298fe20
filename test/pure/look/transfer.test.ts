import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { AGENT_SOURCE, parseAgentReport, payloadSha256 } from '../../../lib/checks/transfer-agent.js';
import { transferVerdict } from '../../../lib/checks/transfer.js';
import type { TransferCheck } from '../../../lib/model/look-checks.js';

const check = (o: Partial<TransferCheck> = {}): TransferCheck => ({ kind: 'transfer', name: 't', from: 'left', to: 'right', family: 'ipv4', protocol: 'tcp', bytes: 1024, seed: 1, timeoutMs: 10_000, chunk: 1200, rateBps: 50e6, expect: 'delivered', ...o });

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Run the agent's two ends on loopback (no namespaces: the agent itself is under test). */
async function roundTrip(proto: 'tcp' | 'udp', bytes: number, seed: number) {
  const port = await freePort();
  const rx = spawn(process.execPath, ['-e', AGENT_SOURCE, 'recv', '--proto', proto, '--host', '127.0.0.1', '--port', String(port), '--timeout', '20000']);
  let out = '';
  rx.stdout.on('data', (d) => (out += d));
  const closed = new Promise((r) => rx.on('close', r));
  for (let i = 0; i < 200 && !out.includes('"listening"'); i++) await new Promise((r) => setTimeout(r, 50));
  const tx = spawnSync(process.execPath, ['-e', AGENT_SOURCE, 'send', '--proto', proto, '--host', '127.0.0.1', '--port', String(port), '--bytes', String(bytes), '--seed', String(seed), '--rate', '200000000'], { encoding: 'utf8' });
  await closed;
  return { sent: parseAgentReport(tx.stdout), recv: parseAgentReport(out) };
}

test('the payload digest: seeded, reproducible, different per seed and length', (t) => {
  t.is(payloadSha256(1048576, 1), payloadSha256(1048576, 1));
  t.not(payloadSha256(1048576, 1), payloadSha256(1048576, 2));
  t.not(payloadSha256(1000, 1), payloadSha256(1001, 1));
});

for (const [proto, bytes] of [['tcp', 1048576], ['udp', 300_001], ['tcp', 1]] as const) {
  test(`agent over loopback ${proto}, ${bytes} bytes: what arrives is the seeded payload, by length and SHA-256`, async (t) => {
    const { sent, recv } = await roundTrip(proto, bytes, 42);
    const want = payloadSha256(bytes, 42);
    t.is(sent?.sha256, want, JSON.stringify(sent));
    t.is(recv?.bytes, bytes, JSON.stringify(recv));
    t.is(recv?.sha256, want);
    if (proto === 'udp') t.is(recv?.datagrams, recv?.expected);
  });
}

test('agent: a sender with nobody listening reports the error (no exception, no hang)', async (t) => {
  const port = await freePort();
  const tx = spawnSync(process.execPath, ['-e', AGENT_SOURCE, 'send', '--proto', 'tcp', '--host', '127.0.0.1', '--port', String(port), '--bytes', '10'], { encoding: 'utf8' });
  t.is(tx.status, 2);
  t.regex(parseAgentReport(tx.stdout)?.error ?? '', /ECONNREFUSED/);
});

test('verdict: delivered needs every byte and the right digest; undelivered the opposite', (t) => {
  const sha = payloadSha256(1024, 1);
  t.is(transferVerdict(check(), 's', sha, { bytes: 1024, sha256: sha }).status, 'passed');
  const short = transferVerdict(check(), '1 KiB over TCP from "left" to 203.0.113.2:4000', sha, { bytes: 512, sha256: 'ab' }, 'sending: ECONNRESET');
  t.is(short.status, 'failed');
  t.is(short.message, `1 KiB over TCP from "left" to 203.0.113.2:4000:\n  bytes received: expected 1024, observed 512\n  sha256 of the bytes received: expected ${sha}, observed ab\n  sender: sending: ECONNRESET`);
  const corrupt = transferVerdict(check(), 's', sha, { bytes: 1024, sha256: 'ff' });
  t.deepEqual(corrupt.assertions.map((a) => a.ok), [true, false]);
  t.is(transferVerdict(check({ expect: 'undelivered' }), 's', sha, undefined, 'timed out').status, 'passed');
  const leak = transferVerdict(check({ expect: 'undelivered' }), 's', sha, { bytes: 1024, sha256: sha });
  t.is(leak.status, 'failed');
  t.regex(leak.message!, /expected the transfer NOT to arrive intact/);
  const udp = transferVerdict(check({ protocol: 'udp' }), 's', sha, { bytes: 100, sha256: 'x', datagrams: 1, expected: 2 });
  t.regex(udp.message!, /UDP datagrams received: 1 of 2/);
});
