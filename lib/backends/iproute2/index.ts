/**
 * The iproute2 backend: runs `ip` (and ethtool/sysctl) as processes with argv arrays.
 * Consecutive `ip` commands for the same namespace go through one `ip -n NS -batch -`
 * process, which saves a process per object; ip reports the failing line, so we still know
 * exactly which step failed and which ones completed.
 */
import type { Backend, ExecuteHooks } from '../backend.js';
import { StepFailed } from '../backend.js';
import type { Executor, RunResult } from '../../exec/executor.js';
import { shellQuote } from '../../exec/executor.js';
import { OpError, type OpFailure } from '../../errors.js';
import type { Step } from '../../plan/ops.js';
import { batchLine, commandArgv, renderOp, UnsupportedByIproute2, type Command } from './render.js';
import { parseIpFailure } from './errors.js';
import { isNetemUnsupported, NETEM_UNSUPPORTED } from '../../checks/impair.js';
import { describeTcFailure } from '../../tc/tunnel-key.js';
import { ethtoolKRefusal } from '../tools.js';

interface Entry {
  step: Step;
  cmd: Command;
  last: boolean; // the step's last command
}

export interface Iproute2Options {
  /** Group consecutive same-namespace ip commands into one `ip -batch` (default true). */
  batch?: boolean;
}

function failureFor(step: Step, argv: string[], r: RunResult, ns: string): OpFailure {
  // A kernel without netem: say so plainly (and where it can run) instead of tc's "qdisc kind is unknown".
  const parsed = parseIpFailure(r.stderr);
  // The same words as the netlink backend for what it also leaves to tc (netem, external ends).
  if (step.op.op === 'qdisc.netem' && isNetemUnsupported(r.stderr)) parsed.kernelMessage = NETEM_UNSUPPORTED;
  if (step.op.op === 'tc.tunnel') parsed.kernelMessage = describeTcFailure(r.stderr, r.exitCode);
  if (step.op.op === 'offload.set') parsed.kernelMessage = ethtoolKRefusal(r.stdout, r.stderr, r.exitCode, step.op.features) ?? parsed.kernelMessage;
  return {
    subject: step.subject,
    ...(step.host ? { host: step.host } : {}),
    ...(ns ? { ns } : {}),
    request: shellQuote(argv),
    ...parsed,
    stderr: r.stderr.trim(),
    exitCode: r.exitCode,
  };
}

/** Exit code 0 and, for commands that need it (ethtool -K), nothing refused in what the tool printed. */
function succeeded(cmd: Command, r: RunResult): boolean {
  return r.exitCode === 0 && !(cmd.tool === 'exec' && cmd.verify?.(r));
}

export function createIproute2Backend(exec: Executor, opts: Iproute2Options = {}): Backend {
  const batching = opts.batch ?? true;

  function entriesOf(steps: readonly Step[]): Entry[] {
    const out: Entry[] = [];
    for (const step of steps) {
      let cmds: Command[];
      try {
        cmds = renderOp(step.op);
      } catch (e) {
        if (e instanceof UnsupportedByIproute2)
          throw new StepFailed(step, new OpError({ subject: step.subject, ...(step.host ? { host: step.host } : {}), request: step.op.op, kernelMessage: e.message, errno: 'EOPNOTSUPP' }));
        throw e;
      }
      cmds.forEach((cmd, i) => out.push({ step, cmd, last: i === cmds.length - 1 }));
    }
    return out;
  }

  /** Split into runs that can share one process. */
  function segments(entries: Entry[]): Entry[][] {
    const segs: Entry[][] = [];
    // Whether the last segment is all batchable `ip` lines: kept as we go, not re-checked over
    // the whole segment for each entry (that was quadratic in a namespace's command count).
    let lastBatchable = false;
    for (const e of entries) {
      const prev = segs.at(-1);
      const head = prev?.[0];
      const batchable = e.cmd.tool === 'ip' && batchLine(e.cmd.args) !== undefined;
      if (batching && prev && head && lastBatchable && batchable && head.cmd.ns === e.cmd.ns) prev.push(e);
      else {
        segs.push([e]);
        lastBatchable = batchable;
      }
    }
    return segs;
  }

  async function runSegment(seg: Entry[]): Promise<{ failedAt: number; result?: RunResult; argv?: string[] }> {
    if (seg.length === 1) {
      const cmd = seg[0]!.cmd;
      const argv = commandArgv(cmd);
      const r = await exec.run(argv, cmd.tool === 'exec' && cmd.input !== undefined ? { input: cmd.input } : undefined);
      return succeeded(cmd, r) ? { failedAt: -1 } : { failedAt: 0, result: r, argv };
    }
    const first = seg[0]!.cmd as Extract<Command, { tool: 'ip' }>;
    const argv = first.ns ? ['ip', '-n', first.ns, '-batch', '-'] : ['ip', '-batch', '-'];
    const input = seg.map((e) => batchLine((e.cmd as Extract<Command, { tool: 'ip' }>).args)).join('\n') + '\n';
    const r = await exec.run(argv, { input });
    if (r.exitCode === 0) return { failedAt: -1 };
    const m = /Command failed -:(\d+)/.exec(r.stderr);
    const idx = m ? Number(m[1]) - 1 : 0;
    const failed = seg[Math.min(idx, seg.length - 1)]!;
    return { failedAt: Math.min(idx, seg.length - 1), result: r, argv: commandArgv(failed.cmd) };
  }

  return {
    name: 'iproute2',
    async execute(steps: readonly Step[], hooks: ExecuteHooks) {
      const entries = entriesOf(steps);
      const announced = new Set<number>();
      const started = new Map<number, number>();
      for (const seg of segments(entries)) {
        const fresh = [...new Map(seg.filter((e) => !announced.has(e.step.id)).map((e) => [e.step.id, e.step])).values()];
        if (fresh.length) {
          await hooks.intent(fresh);
          for (const s of fresh) {
            announced.add(s.id);
            started.set(s.id, Date.now());
          }
        }
        const { failedAt, result, argv } = await runSegment(seg);
        const completed = failedAt < 0 ? seg : seg.slice(0, failedAt);
        for (const e of completed) if (e.last) await hooks.done(e.step, Date.now() - (started.get(e.step.id) ?? Date.now()));
        if (failedAt >= 0) {
          const e = seg[failedAt]!;
          throw new StepFailed(e.step, new OpError(failureFor(e.step, argv!, result!, e.cmd.ns)));
        }
      }
    },
    async run(step: Step) {
      for (const cmd of renderOp(step.op)) {
        const argv = commandArgv(cmd);
        const r = await exec.run(argv, cmd.tool === 'exec' && cmd.input !== undefined ? { input: cmd.input } : undefined);
        if (!succeeded(cmd, r)) throw new OpError(failureFor(step, argv, r, cmd.ns));
      }
    },
    async close() {},
  };
}
