/** startCapture's process handling against a fake executor: argv, readiness, early exit, timeout, stop. */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeOptionsFor, joinKeyrings, startCapture } from '../../../lib/checks/capture.js';
import { espKeyring, parseXfrmStates } from '../../../lib/ipsec/xfrm.js';
import type { EspSa } from '../../../lib/wire/esp.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';
import { OpError } from '../../../lib/errors.js';
import { buildFrame, writePcap } from './frame-builder.js';

/** A fake tcpdump: writes `content` to the -w file after `readyAfterMs`, or exits early with `exitWith`. */
function fakeExec(o: { readyAfterMs?: number; content?: Buffer; exitWith?: { code: number; stderr: string } }) {
  const calls: string[][] = [];
  const exec: Executor = {
    where: 'local',
    run: async () => ({ argv: [], exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false }),
    start(argv): Background {
      calls.push([...argv]);
      const file = argv[argv.indexOf('-w') + 1]!;
      let finish!: (r: RunResult) => void;
      const done = new Promise<RunResult>((r) => (finish = r));
      const result = (exitCode: number, stderr: string): RunResult => ({ argv: [...argv], exitCode, stdout: '', stderr, durationMs: 1, timedOut: false });
      if (o.exitWith) setTimeout(() => finish(result(o.exitWith!.code, o.exitWith!.stderr)), 30);
      else if (o.readyAfterMs !== undefined) setTimeout(() => writeFileSync(file, o.content ?? Buffer.alloc(0)), o.readyAfterMs);
      return {
        pid: 4242,
        argv: [...argv],
        done,
        async stop() {
          finish(result(0, 'tcpdump: listening on x\n2 packets captured\n2 packets received by filter\n1 packet dropped by kernel\n'));
          return done;
        },
      };
    },
  };
  return { exec, calls };
}

const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'gl-capfake-'));
  return { d, cleanup: () => rmSync(d, { recursive: true, force: true }) };
};

test('argv: tcpdump inside the namespace, immediate, unbuffered, root-owned file, filter as one argument', async (t) => {
  const { d, cleanup } = tmp();
  t.teardown(cleanup);
  const pcap = writePcap([buildFrame({ vni: 8 }), buildFrame({ vni: 8 })]);
  const { exec, calls } = fakeExec({ readyAfterMs: 120, content: pcap });
  const started = Date.now();
  const cap = await startCapture({ exec, ns: 'h1' }, 'eth1', { file: join(d, 'c.pcap'), filter: 'udp port 6081', snaplen: 256 });
  t.true(Date.now() - started >= 100, 'waited for tcpdump to open its file');
  t.deepEqual(calls[0], ['ip', 'netns', 'exec', 'h1', 'tcpdump', '-i', 'eth1', '-n', '-U', '--immediate-mode', '-Z', 'root', '-s', '256', '-w', join(d, 'c.pcap'), 'udp port 6081']);
  const out = await cap.stop();
  t.deepEqual(out.packets.map((p) => p.geneve?.vni), [8, 8]);
  t.deepEqual(out.stats, { captured: 2, dropped: 1 });
});

test('tcpdump exiting before it listens is an OpError with its message, namespace and argv', async (t) => {
  const { d, cleanup } = tmp();
  t.teardown(cleanup);
  const { exec } = fakeExec({ exitWith: { code: 1, stderr: 'tcpdump: eth9: No such device exists\n(No such device exists)\n' } });
  const e = await t.throwsAsync(startCapture({ exec, ns: 'h1' }, 'eth9', { file: join(d, 'c.pcap') }), { instanceOf: OpError });
  t.regex(e!.message, /^capture on eth9 \(netns h1\): tcpdump exited \(code 1\) before it started listening: tcpdump: eth9: No such device exists/);
  t.regex(e!.message, /request: ip netns exec h1 tcpdump -i eth9/);
});

test('a tcpdump that never starts listening times out and is stopped', async (t) => {
  const { d, cleanup } = tmp();
  t.teardown(cleanup);
  const { exec } = fakeExec({});
  await t.throwsAsync(startCapture({ exec }, 'eth1', { file: join(d, 'c.pcap'), startTimeoutMs: 150 }), { message: /did not start listening within 150 ms/ });
});

test('decode ports come from the lab tunnels and the expectation', (t) => {
  const ctx = { lab: { tunnels: [{ type: 'geneve', geneve: { dstport: 7000 } }, { type: 'vxlan', vxlan: { dstport: 8000 } }] } } as any;
  t.deepEqual(decodeOptionsFor(ctx, {}), { genevePorts: [6081, 7000], vxlanPorts: [4789, 8472, 8000] });
  t.deepEqual(decodeOptionsFor(undefined, { 'udp.dstport': 9000, 'vxlan.vni': 1 }).vxlanPorts, [4789, 8472, 9000]);
  t.deepEqual(decodeOptionsFor(undefined, { udp: { dstport: 6082 } }).genevePorts, [6081, 6082]);
});

test('ESP keys are read when tcpdump listens and again at the end: an SA gone by the end (rekeyed, a duplicate closed) still decrypts', async (t) => {
  const { d, cleanup } = tmp();
  t.teardown(cleanup);
  const FX = join(import.meta.dirname, '../../fixtures/esp');
  const keys = espKeyring(parseXfrmStates(readFileSync(join(FX, 'gcm128-geneve.xfrm.txt'), 'utf8')));
  const { exec } = fakeExec({ readyAfterMs: 20, content: readFileSync(join(FX, 'gcm128-geneve.pcap')) });
  const readings: EspSa[][] = [keys, []]; // at the start the SAs exist; by the end IKE has removed them
  let reads = 0;
  const cap = await startCapture({ exec }, 'eth1', { file: join(d, 'c.pcap'), espSas: async () => readings[reads++]! });
  const out = await cap.stop();
  t.is(reads, 2, 'read twice');
  t.true(out.packets.length > 0);
  t.true(out.packets.every((p) => p.esp?.decrypted === true), 'every ESP packet decrypted with the keys read at the start');
});

test('joinKeyrings: the end reading first, start-only SAs added, one entry per SPI and destination', (t) => {
  const sa = (spi: number, dst: string, tag: number) => ({ spi, dst, enc: { name: 'cbc(aes)', key: Buffer.from([tag]) } });
  const joined = joinKeyrings([sa(1, '192.0.2.2', 9)], [sa(1, '192.0.2.2', 1), sa(2, '192.0.2.2', 2), sa(1, '192.0.2.1', 3)])!;
  t.deepEqual(joined.map((s) => [s.spi, s.dst, s.enc!.key[0]]), [[1, '192.0.2.2', 9], [2, '192.0.2.2', 2], [1, '192.0.2.1', 3]]);
  t.is(joinKeyrings(undefined, undefined), undefined, 'no reading at all: no keys given');
  t.deepEqual(joinKeyrings(undefined, [sa(5, 'x', 5)])!.map((s) => s.spi), [5], 'the end reading failed: the start one still counts');
});
