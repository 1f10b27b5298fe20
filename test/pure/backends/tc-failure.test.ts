/**
 * Both backends leave external tunnel ends to tc (see lib/tc/tunnel-key.ts). When tc fails, the
 * user must read the same words whichever backend ran it: tc's own message, and the kernel module
 * it points at. A fake executor stands in for tc; no socket is opened (the step runs in the root
 * namespace, which the netlink backend never enters for a tool).
 */
import test from 'ava';
import { NetlinkBackend } from '../../../lib/backends/netlink/backend.js';
import type { Native } from '../../../lib/backends/netlink/native.js';
import { createIproute2Backend } from '../../../lib/backends/iproute2/index.js';
import type { Backend } from '../../../lib/backends/backend.js';
import type { Executor, RunResult } from '../../../lib/exec/executor.js';
import { OpError } from '../../../lib/errors.js';
import type { Step } from '../../../lib/plan/ops.js';
import { describeTcFailure } from '../../../lib/tc/tunnel-key.js';

const step: Step = {
  id: 7,
  subject: 'tunnel "gnv0" on host "box-1"',
  host: 'box-1',
  op: {
    op: 'tc.tunnel',
    ns: '',
    dev: 'gnv0',
    egress: { src: '192.0.2.1', dst: '192.0.2.2', vni: 1, dstPort: 6081, ttl: 64, csum: false },
    ingress: { src: '192.0.2.2', dst: '192.0.2.1', vni: 1, dstPort: 6081 },
  },
  undo: null,
};

/** tc as the executor sees it: the clsact qdisc goes in, the first filter fails with `stderr`. */
function fakeTc(stderr: string): Executor & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    where: 'local',
    ran,
    async run(argv): Promise<RunResult> {
      ran.push([...argv]);
      const failing = argv.includes('filter');
      return { exitCode: failing ? 2 : 0, stdout: '', stderr: failing ? stderr : '' } as RunResult;
    },
    start() {
      throw new Error('not used');
    },
  };
}

const backends: [string, (exec: Executor) => Backend][] = [
  ['netlink', (exec) => new NetlinkBackend({} as Native, { exec })],
  ['iproute2', (exec) => createIproute2Backend(exec)],
];

const cases: [string, string, RegExp][] = [
  ['missing classifier', 'Error: TC classifier not found.\nWe have an error talking to the kernel\n', /^TC classifier not found: .*cls_flower, cls_matchall/],
  ['missing action', 'Error: Failed to load TC action module.\nWe have an error talking to the kernel\n', /^Failed to load TC action module: .*act_tunnel_key/],
  ['another tc error', 'Error: Exclusivity flag on, cannot modify.\n', /^Exclusivity flag on, cannot modify$/],
];

for (const [what, stderr, expected] of cases) {
  test(`a failing tc command of an external end (${what}) reads the same from both backends`, async (t) => {
    const messages: string[] = [];
    for (const [name, make] of backends) {
      const exec = fakeTc(stderr);
      const err = await t.throwsAsync(make(exec).run(step), { instanceOf: OpError }, name);
      t.is(exec.ran[0]![0], 'tc', `${name} ran tc itself`);
      const failure = err!.failure;
      t.is(failure.subject, step.subject, name);
      t.regex(failure.kernelMessage ?? '', expected, name);
      t.regex(failure.request, /^tc filter add dev gnv0 egress /, `${name} names the failing command`);
      messages.push(failure.kernelMessage!);
    }
    t.is(messages[0], messages[1]);
    t.is(messages[0], describeTcFailure(stderr, 2));
  });
}

test('a tc failure without any message says how tc exited', (t) => {
  t.is(describeTcFailure('', 1), 'tc exited with 1');
  t.is(describeTcFailure('We have an error talking to the kernel\n', 2), 'tc exited with 2');
});
