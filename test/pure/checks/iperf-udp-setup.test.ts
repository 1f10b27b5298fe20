/**
 * A UDP iperf3 run starts with one datagram each way that iperf3 never retransmits; on a lossy
 * path (netem loss in the VM tier) losing it aborts the run with "unable to read from stream
 * socket" before anything is measured. runIperf retries such runs (fresh server each time) and
 * says so in the figures; a completed measurement with loss is judged, never retried, and TCP
 * runs are never retried. A fake executor plays iperf3 and ss.
 */
import test from 'ava';
import { runIperf } from '../../../lib/checks/iperf.js';
import type { CheckContext } from '../../../lib/checks/context.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';
import type { IperfCheck } from '../../../lib/model/types.js';

const SETUP_LOST = JSON.stringify({ start: {}, intervals: [], end: {}, error: 'unable to read from stream socket: Resource temporarily unavailable' });
const udpResult = (lost: number) =>
  JSON.stringify({ start: { test_start: { protocol: 'UDP', num_streams: 1 } }, intervals: [], end: { sum: { bits_per_second: 5e6, lost_packets: lost, packets: 1000, lost_percent: lost / 10, jitter_ms: 0.1, seconds: 2 } } });

/** Client runs answer with `outputs` in turn; counts client runs and server starts. */
function fakeExec(outputs: string[]) {
  const seen = { clients: 0, servers: 0 };
  const result = (argv: readonly string[], stdout = ''): RunResult => ({ argv: [...argv], exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false });
  const exec: Executor = {
    where: 'local',
    async run(argv) {
      if (argv.includes('ss')) return result(argv, argv.includes('-Htuan') ? '' : 'LISTEN 0 5 *:5201 *:*\n');
      if (argv.includes('-c')) {
        const out = outputs[Math.min(seen.clients++, outputs.length - 1)]!;
        return { ...result(argv, out), exitCode: out.includes('"error"') ? 1 : 0 };
      }
      return result(argv);
    },
    start(argv): Background {
      seen.servers++;
      return { pid: undefined, argv: [...argv], done: new Promise(() => {}), stop: async () => result(argv, '{}') };
    },
  };
  return { exec, seen };
}

function ctxWith(exec: Executor): CheckContext {
  const ep = (name: string) => ({ name, ns: `gl-x-${name}`, exec, addresses: ['203.0.113.2'] });
  return { lab: {} as CheckContext['lab'], endpoint: ep, address: () => '203.0.113.2' };
}

const check = (protocol: 'udp' | 'tcp'): IperfCheck =>
  ({ name: 'u', kind: 'iperf', from: 'left', to: 'right', protocol, durationS: 2, parallel: 1, reverse: false, family: 'ipv4', ...(protocol === 'udp' ? { maxLossPct: 1, bitrate: '5M' } : {}) }) as IperfCheck;

test('UDP: a lost setup datagram is retried with a fresh server; the measurement then decides', async (t) => {
  const { exec, seen } = fakeExec([SETUP_LOST, SETUP_LOST, udpResult(50)]);
  const r = await runIperf(check('udp'), ctxWith(exec), { port: 5201 });
  t.is(seen.clients, 3);
  t.is(seen.servers, 3, 'a one-off server per attempt');
  t.is(r.status, 'failed', 'the measured 5% loss fails the 1% threshold');
  t.regex(r.message!, /^expected loss ≤ 1%, saw 5% \(50\/1000 datagrams lost\)$/);
  t.is(r.figures.udp_setup_retries, 2);
});

test('UDP: after three lost setups the check fails and names iperf3\'s error', async (t) => {
  const { exec, seen } = fakeExec([SETUP_LOST]);
  const r = await runIperf(check('udp'), ctxWith(exec), { port: 5201 });
  t.is(seen.clients, 3);
  t.is(r.status, 'failed');
  t.regex(r.message!, /unable to read from stream socket/);
});

test('UDP: a completed run is never retried', async (t) => {
  const { exec, seen } = fakeExec([udpResult(0)]);
  const r = await runIperf(check('udp'), ctxWith(exec), { port: 5201 });
  t.is(seen.clients, 1);
  t.is(r.status, 'passed');
  t.is(r.figures.udp_setup_retries, undefined);
});

test('TCP: the same error is not retried', async (t) => {
  const { exec, seen } = fakeExec([SETUP_LOST, udpResult(0)]);
  const r = await runIperf(check('tcp'), ctxWith(exec), { port: 5201 });
  t.is(seen.clients, 1);
  t.is(r.status, 'failed');
});
