/**
 * Executes the IPsec operations of a plan (ops.ts) on one machine, beside the kernel backend and
 * the OVS runner (lib/backends/composite.ts routes `ipsec.*` and `xfrm.*` here).
 */
import type { Executor, RunResult } from '../exec/executor.js';
import { OpError } from '../errors.js';
import type { Step } from '../plan/ops.js';
import { awaitSas, spisText } from './await.js';
import { ipsecCmd, startIpsec, stopIpsec, writeFileVia } from './daemons.js';
import { awaitMonitor } from './monitor.js';
import type { IpsecOp } from './ops.js';
import { setPortPsk } from './ovsdb-psk.js';
import { ipsecPaths } from './paths.js';
import { ikeCryptoProblem } from './status.js';
import { labConns, labSecrets } from './strongswan.js';
import { policyAddLine, policyDeleteLine, stateAddLine, stateDeleteLine } from './xfrm.js';

export type Notice = (message: string, level?: 'info' | 'warning') => void;

const batchArgv = (ns: string) => ['ip', ...(ns ? ['-n', ns] : []), '-batch', '-'];
/** A deletion line as argv (no secret in it). */
const ipArgv = (ns: string, line: string) => ['ip', ...(ns ? ['-n', ns] : []), ...line.split(' ')];

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
        // An SSH host's own OVS: its openvswitch-ipsec service does the IKE, so it must be running.
        if (!op.ipsecDir && (await this.exec.run(['pgrep', '-f', 'ovs-monitor-ipsec'])).exitCode !== 0)
          throw new OpError({
            ...where,
            request: 'pgrep -f ovs-monitor-ipsec',
            kernelMessage: 'the machine\'s openvswitch-ipsec service (ovs-monitor-ipsec) is not running, so nothing would negotiate this port\'s SAs: start it (systemctl start openvswitch-ipsec), or use static keys (ipsec: { keys: [...] })',
          });
        if (!op.ipsecDir) {
          // …and its charon must be able to run OVS's IKE proposal (AES-GCM): without a plugin for
          // it, IKE_SA_INIT succeeds and then key derivation fails, forever (seen on Debian boxes
          // installed without recommends, which lack libstrongswan-standard-plugins).
          const plugins = await this.exec.run(['ipsec', 'listplugins'], { timeoutMs: 15_000 });
          const problem = plugins.exitCode === 0 ? ikeCryptoProblem(plugins.stdout) : undefined;
          if (problem) throw new OpError({ ...where, request: 'ipsec listplugins', kernelMessage: problem });
        }
        await setPortPsk(this.exec, { db: op.db, port: op.port, psk: op.psk, ...(op.esp ? { esp: op.esp } : {}), subject: step.subject, ...(op.ns ? { ns: op.ns } : {}) });
        return;
      case 'ipsec.monitor': {
        const r = await awaitMonitor({ exec: this.exec, ns: op.ns, ...(op.ipsecDir ? { ipsecDir: op.ipsecDir } : {}) }, op.ports, op.timeoutMs);
        const monitor = `ovs-monitor-ipsec on ${step.host ? `host "${step.host}"` : `netns ${op.ns}`}`;
        const secs = (r.ms / 1000).toFixed(1);
        if (r.configured) this.notice(`${monitor} configured ${op.ports.join(', ')} in ${secs} s`);
        else this.notice(`${monitor} did not report ${op.ports.join(', ')} configured within ${secs} s (${r.reason}): SAs brought up now may be torn down by its next refresh.`, 'warning');
        return;
      }
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

  /**
   * One `ip -batch -` per line, the line on stdin (so keys never reach an argv): ip's xfrm
   * commands exit at their first failure without saying which line failed, and the lab must know
   * exactly what went in. When one fails, what went in before it is taken out again.
   */
  private async xfrmAdd(op: Extract<IpsecOp, { op: 'xfrm.add' }>, where: { subject: string; host?: string; ns?: string }): Promise<void> {
    const items = [
      ...op.states.map((st) => ({ add: stateAddLine(st), del: stateDeleteLine(st), what: describeState(st), kind: 'state' })),
      ...op.policies.map((p) => ({ add: policyAddLine(p), del: policyDeleteLine(p), what: describePolicy(p), kind: 'policy' })),
    ];
    for (const [i, item] of items.entries()) {
      const r = await this.exec.run(batchArgv(op.ns), { input: item.add + '\n', timeoutMs: 30_000 });
      if (r.exitCode === 0) continue;
      for (const done of items.slice(0, i).reverse()) await this.exec.run(ipArgv(op.ns, done.del), { timeoutMs: 30_000 });
      const msg = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Command failed/.test(l)).join(' / ') || `exit ${r.exitCode}`;
      throw new OpError({
        ...where,
        request: `ip ${op.ns ? `-n ${op.ns} ` : ''}xfrm ${item.kind} add (${item.what}; keys on stdin)`,
        kernelMessage: /File exists/.test(msg)
          ? `${msg}: an XFRM ${item.kind} like this one already exists there and is not the lab's (${item.what}); remove it, or change the lab's ${item.kind === 'state' ? 'SPIs' : 'tunnel'}`
          : /not found|Protocol not supported/.test(msg)
            ? `${msg}: this kernel lacks ESP or the algorithm (modprobe esp4 / esp6; run the lab in the VM tier)`
            : msg,
        ...(/File exists/.test(msg) ? { errno: 'EEXIST' } : {}),
        stderr: r.stderr,
        exitCode: r.exitCode,
      });
    }
  }

  /** Exactly the lab's policies, then its states, one `ip` each (a missing one is already gone: fine). */
  private async xfrmDel(op: Extract<IpsecOp, { op: 'xfrm.del' }>, where: { subject: string; host?: string; ns?: string }): Promise<void> {
    const failed: string[] = [];
    for (const line of [...op.policies.map(policyDeleteLine), ...op.states.map(stateDeleteLine)]) {
      const r = await this.exec.run(ipArgv(op.ns, line), { timeoutMs: 30_000 });
      if (r.exitCode !== 0 && !gone(r.stderr)) failed.push(`${line}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
    if (failed.length) throw new OpError({ ...where, request: `ip ${op.ns ? `-n ${op.ns} ` : ''}xfrm … delete`, kernelMessage: failed.join('; ') });
  }
}

function describeState(s: { src: string; dst: string; spi: number } | undefined): string {
  return s ? `ESP SA ${s.src} → ${s.dst} SPI 0x${s.spi.toString(16)}` : 'an SA';
}
function describePolicy(p: { sel: { src: string; dst: string; proto: string; dport?: number }; dir: string } | undefined): string {
  return p ? `policy ${p.dir} ${p.sel.src} → ${p.sel.dst} ${p.sel.proto}${p.sel.dport ? ` dport ${p.sel.dport}` : ''}` : 'a policy';
}
