import test from 'ava';
import { applyImpairment, clearArgv, clearImpairment, ImpairmentError, impairmentProblems, isNetemUnsupported, netemArgv, withImpairment } from '../../../lib/checks/impair.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import { fixture } from './fixtures.js';

test('netem argv: delay with jitter, loss, rate in bits per second', (t) => {
  t.deepEqual(netemArgv('eth0', { delayMs: 10, jitterMs: 2, lossPct: 1, rate: '100mbit' }), [
    'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '10ms', '2ms', 'loss', '1%', 'rate', '100000000bit',
  ]);
  t.deepEqual(netemArgv('u0', { lossPct: 0.5 }), ['tc', 'qdisc', 'replace', 'dev', 'u0', 'root', 'netem', 'loss', '0.5%']);
  t.deepEqual(clearArgv('u0'), ['tc', 'qdisc', 'del', 'dev', 'u0', 'root']);
});

test('bad impairments are refused with what is wrong', (t) => {
  t.deepEqual(impairmentProblems({ jitterMs: 2 }), ['jitter needs a delay (netem varies the delay by the jitter)', 'an impairment needs at least one of delay, loss, rate']);
  t.deepEqual(impairmentProblems({ lossPct: 120 }), ['loss (%) must be a number between 0 and 100, got 120']);
  t.throws(() => netemArgv('eth0', { rate: 'fast' }), { instanceOf: ImpairmentError, message: /^impairment on eth0: rate: invalid bit rate "fast"/ });
});

function fakeExec(reply: (argv: readonly string[]) => Partial<RunResult>): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    where: 'local',
    calls,
    async run(argv) {
      calls.push([...argv]);
      return { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...reply(argv) };
    },
    start() {
      throw new Error('not used');
    },
  };
}

test('this kernel\'s real tc answer becomes "unsupported by this kernel … run it in the VM"', async (t) => {
  const stderr = fixture('tc-netem-unsupported.stderr');
  t.true(isNetemUnsupported(stderr));
  const ex = fakeExec(() => ({ exitCode: 2, stderr }));
  const e = await t.throwsAsync(applyImpairment({ exec: ex, ns: 'gl-x-h1', dev: 'eth0' }, { lossPct: 1 }), { instanceOf: ImpairmentError });
  t.true(e!.unsupported);
  t.regex(e!.message, /^impairment on eth0 \(netns gl-x-h1\): unsupported by this kernel \(no netem qdisc.*run it in the VM \(`geneve-lab vm …`\)/);
  t.deepEqual(ex.calls[0]!.slice(0, 5), ['ip', 'netns', 'exec', 'gl-x-h1', 'tc']);
});

test('other tc failures keep tc\'s message and the request', async (t) => {
  const ex = fakeExec(() => ({ exitCode: 1, stderr: 'Cannot find device "nope"\n' }));
  await t.throwsAsync(applyImpairment({ exec: ex, dev: 'nope' }, { delayMs: 5 }), { message: /^impairment on nope failed: Cannot find device "nope"\n {4}request: tc qdisc replace dev nope root netem delay 5ms$/ });
});

test('clear tolerates a link without netem; withImpairment always clears', async (t) => {
  await clearImpairment({ exec: fakeExec(() => ({ exitCode: 2, stderr: 'Error: Cannot delete qdisc with handle of zero.\n' })), dev: 'eth0' });
  const ex = fakeExec(() => ({}));
  await t.throwsAsync(withImpairment({ exec: ex, dev: 'eth0' }, { lossPct: 1 }, async () => {
    throw new Error('iperf failed');
  }), { message: 'iperf failed' });
  t.deepEqual(ex.calls.map((c) => c[2]), ['replace', 'del']);
});
