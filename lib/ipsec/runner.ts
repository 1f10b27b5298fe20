/**
 * Executes the IPsec operations of a plan (ops.ts) on one machine, beside the kernel backend and
 * the OVS runner (lib/backends/composite.ts routes `ipsec.*` and `xfrm.*` here).
 */
import type { Executor, RunResult } from '../exec/executor.js';
import { OpError } from '../errors.js';
import type { Step } from '../plan/ops.js';
import { awaitSas, spisText } from './await.js';
import { ipsecCmd, startIpsec, stopIpsec, writeFileVia } from './daemons.js';
import type { IpsecOp } from './ops.js';
import { setPortPsk } from './ovsdb-psk.js';
import { ipsecPaths } from './paths.js';
import { labConns, labSecrets } from './strongswan.js';
import { policyAddLine, policyDeleteLine, stateAddLine, stateDeleteLine } from './xfrm.js';

export type Notice = (message: string, level?: 'info' | 'warning') => void;

const batchArgv = (ns: string, force = false) => ['ip', ...(ns ? ['-n', ns] : []), ...(force ? ['-force'] : []), '-batch', '-'];

/** Line numbers (1-based) ip -batch reported as failed, with the error text that preceded each. */
function batchFailures(stderr: string): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = [];
  let pending: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /Command failed -:(\d+)/.exec(l);
    if (m) {
      out.push({ line: Number(m[1]), message: pending.join(' ').trim() });
      pending = [];
    } else if (l.trim()) pending.push(l.trim());
  }
  return out;
}

const gone = (msg: string) => /No such process|No such file or directory|does not exist/i.test(msg);

export class IpsecRunner {
  constructor(
    private readonly exec: Executor,
    private readonly notice: Notice = () => {},
  ) {}

  async run(step: Step): Promise<void> {
    const op = step.op as IpsecOp;
    const where = { subject: step.subject, ...(step.host ? { host: step.host } : {}), ...('ns' in op && op.ns ? { ns: op.ns } : {}) };
    switch (op.op) {
      case 'ipsec.start':
        await startIpsec({ exec: this.exec, ns: op.ns, dir: op.dir, label: step.host ? `IKE daemon on host "${step.host}"` : `IKE daemon in netns ${op.ns}`, ...(op.ovsDb ? { ovsDb: op.ovsDb } : {}) });
        return;
      case 'ipsec.stop':
        await stopIpsec(this.exec, op.dir);
        return;
      case 'ipsec.conns': {
        const p = ipsecPaths(op.dir);
        await writeFileVia(this.exec, `${p.labDir}/${op.file}.secrets`, labSecrets(op.conns[0]!.remote, op.psk), '600', step.subject);
        await writeFileVia(this.exec, `${p.labDir}/${op.file}.conf`, labConns(op.conns, op.esp), '600', step.subject);
        // Secrets first (synchronous), then the connections (starter rereads ipsec.conf on `update`).
        await this.must(ipsecCmd(p, op.ns).concat('rereadsecrets'), where);
        await this.must(ipsecCmd(p, op.ns).concat('update'), where);
        return;
      }
      case 'ipsec.psk':
        await setPortPsk(this.exec, { db: op.db, port: op.port, psk: op.psk, ...(op.esp ? { esp: op.esp } : {}), subject: step.subject, ...(op.ns ? { ns: op.ns } : {}) });
        return;
      case 'ipsec.await': {
        const r = await awaitSas({ exec: this.exec, ns: op.ns, ...(op.ipsecDir ? { ipsecDir: op.ipsecDir } : {}) }, op.spec);
        const secs = (r.ms / 1000).toFixed(1);
        if (r.established) this.notice(`tunnel "${op.spec.tunnel}": IPsec SAs established in ${secs} s (${op.spec.local} ⇄ ${op.spec.remote}: ${spisText(r.children)})`);
        else this.notice(`tunnel "${op.spec.tunnel}": the IPsec SA never came up within ${secs} s (${op.spec.local} ⇄ ${op.spec.remote}): ${r.reason}. Checks across it will fail.`, 'warning');
        return;
      }
      case 'xfrm.add':
        await this.xfrmAdd(op, where);
        return;
      case 'xfrm.del':
        await this.xfrmDel(op, where);
        return;
    }
  }

  private async must(argv: string[], where: { subject: string; host?: string; ns?: string }): Promise<RunResult> {
    const r = await this.exec.run(argv, { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new OpError({ ...where, request: argv.join(' '), kernelMessage: r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`, stderr: r.stderr, exitCode: r.exitCode });
    return r;
  }

  /** All lines in one `ip -batch`; when one fails, what went in before it is taken out again. */
  private async xfrmAdd(op: Extract<IpsecOp, { op: 'xfrm.add' }>, where: { subject: string; host?: string; ns?: string }): Promise<void> {
    const lines = [...op.states.map(stateAddLine), ...op.policies.map(policyAddLine)];
    const r = await this.exec.run(batchArgv(op.ns), { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
    if (r.exitCode === 0) return;
    const f = batchFailures(r.stderr)[0];
    const failed = f ? f.line - 1 : 0;
    const done = [...op.states.map((s) => stateDeleteLine(s)), ...op.policies.map((p) => policyDeleteLine(p))].slice(0, failed);
    if (done.length) await this.exec.run(batchArgv(op.ns, true), { input: done.join('\n') + '\n', timeoutMs: 30_000 });
    const what = failed < op.states.length ? describeState(op.states[failed]) : describePolicy(op.policies[failed - op.states.length]);
    const msg = f?.message || r.stderr.trim() || `exit ${r.exitCode}`;
    throw new OpError({
      ...where,
      request: `ip ${op.ns ? `-n ${op.ns} ` : ''}xfrm … (${what})`,
      kernelMessage: /File exists/.test(msg) ? `${msg}: an XFRM ${failed < op.states.length ? 'state' : 'policy'} like this one already exists there and is not the lab's (${what}); remove it or change the lab's SPIs` : /not found|Protocol not supported/.test(msg) ? `${msg}: this kernel lacks ESP or the algorithm (modprobe esp4 / esp6; run the lab in the VM tier)` : msg,
      ...(/File exists/.test(msg) ? { errno: 'EEXIST' } : {}),
      stderr: r.stderr,
      exitCode: r.exitCode,
    });
  }

  private async xfrmDel(op: Extract<IpsecOp, { op: 'xfrm.del' }>, where: { subject: string; host?: string; ns?: string }): Promise<void> {
    const lines = [...op.policies.map(policyDeleteLine), ...op.states.map(stateDeleteLine)];
    if (!lines.length) return;
    const r = await this.exec.run(batchArgv(op.ns, true), { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
    if (r.exitCode === 0) return;
    const real = batchFailures(r.stderr).filter((f) => !gone(f.message));
    if (!real.length && batchFailures(r.stderr).length) return; // already gone: the goal of an undo
    throw new OpError({ ...where, request: `ip ${op.ns ? `-n ${op.ns} ` : ''}-force -batch - (${lines.length} xfrm deletions)`, kernelMessage: real.map((f) => `line ${f.line} (${lines[f.line - 1]}): ${f.message}`).join('; ') || r.stderr.trim(), stderr: r.stderr, exitCode: r.exitCode });
  }
}

function describeState(s: { src: string; dst: string; spi: number } | undefined): string {
  return s ? `ESP SA ${s.src} → ${s.dst} SPI 0x${s.spi.toString(16)}` : 'an SA';
}
function describePolicy(p: { sel: { src: string; dst: string; proto: string; dport?: number }; dir: string } | undefined): string {
  return p ? `policy ${p.dir} ${p.sel.src} → ${p.sel.dst} ${p.sel.proto}${p.sel.dport ? ` dport ${p.sel.dport}` : ''}` : 'a policy';
}
