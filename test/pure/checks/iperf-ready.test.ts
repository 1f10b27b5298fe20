/**
 * How long startIperfServer waits for its server to listen: 5 s locally, 20 s over SSH, where
 * every readiness poll is a round trip through the connection and a process start on the
 * machine (found in the VM tier: under TCG the first poll over SSH alone took over 5 s).
 * A fake executor whose `ss` reports the port listening only after a delay.
 */
import test from 'ava';
import { startIperfServer } from '../../../lib/checks/iperf.js';
import type { Background, Executor, RunResult } from '../../../lib/exec/executor.js';

function fakeExec(where: string, listensAfterMs: number): Executor {
  const t0 = Date.now();
  const result = (argv: readonly string[], stdout = ''): RunResult => ({ argv: [...argv], exitCode: 0, stdout, stderr: '', durationMs: 1, timedOut: false });
  return {
    where,
    async run(argv) {
      if (argv.includes('ss')) return result(argv, Date.now() - t0 >= listensAfterMs ? 'LISTEN 0 5 *:5201 *:*\n' : '');
      return result(argv);
    },
    start(argv): Background {
      return { pid: undefined, argv: [...argv], done: new Promise(() => {}), stop: async () => result(argv) };
    },
  };
}

const ep = (exec: Executor) => ({ name: 'g2', ns: 'gl-x-g2', exec, addresses: ['203.0.113.2'] });

test('over SSH the server may take longer than 5 s to listen', async (t) => {
  const s = await startIperfServer(ep(fakeExec('ssh box-2 (root@198.51.100.12)', 5500)), { port: 5201, idleTimeoutS: 10 });
  t.is(s.port, 5201);
});

test('locally the budget stays 5 s, and the error says so', async (t) => {
  const e = await t.throwsAsync(startIperfServer(ep(fakeExec('local', 60_000)), { port: 5201, idleTimeoutS: 10 }));
  t.regex(e!.message, /iperf3 server in "g2" \(netns gl-x-g2\) on port 5201 was not listening after 5 s/);
});

test('an explicit readyTimeoutMs wins over the SSH default', async (t) => {
  const e = await t.throwsAsync(startIperfServer(ep(fakeExec('ssh box-2 (root@198.51.100.12)', 60_000)), { port: 5201, idleTimeoutS: 10, readyTimeoutMs: 300 }));
  t.regex(e!.message, /was not listening after 0\.3 s/);
});
