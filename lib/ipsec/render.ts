/**
 * The commands behind each IPsec plan operation, for `plan --format sh`: what `up` runs, with
 * every secret shown as <redacted> and file contents named rather than printed (`: writes FILE`).
 * Execution goes through the IPsec runner (runner.ts).
 */
import { inNetns } from '../exec/executor.js';
import { OVS_MONITOR_IPSEC } from './daemons.js';
import { monitorShowArgv } from './monitor.js';
import type { IpsecOp } from './ops.js';
import { ipsecPaths } from './paths.js';
import { policyAddLine, policyDeleteLine, redactedArgv, stateAddLine, stateDeleteLine } from './xfrm.js';

export interface IpsecArgv {
  ns?: string;
  argv: string[];
}

const note = (text: string): IpsecArgv => ({ argv: [':', text] });
const ip = (ns: string, line: string, redact = false): IpsecArgv => ({ argv: ['ip', ...(ns ? ['-n', ns] : []), ...(redact ? redactedArgv(line) : line.split(' '))] });

export function ipsecOpArgv(op: IpsecOp): IpsecArgv[] {
  switch (op.op) {
    case 'ipsec.start': {
      const p = ipsecPaths(op.dir);
      return [
        { argv: ['install', '-d', '-m', '700', p.dir, `${p.dir}/etc`, `${p.dir}/usr/sbin`, `${p.dir}/sbin`, p.labDir, p.run] },
        note(`geneve-lab writes ${p.strongswanConf}, ${p.ipsecConf}, ${p.ipsecSecrets} (0600) and the host's ipsec wrapper ${p.wrapper}`),
        { argv: inNetns(op.ns, [p.wrapper, 'start']) },
        ...(op.ovsDb
          ? [{ argv: inNetns(op.ns, ['env', `OVS_RUNDIR=${p.dir}`, OVS_MONITOR_IPSEC, `--root-prefix=${p.dir}`, '--ike-daemon=strongswan', '--no-restart-ike-daemon', `--pidfile=${p.monitorPid}`, `--log-file=${p.monitorLog}`, '--detach', `unix:${op.ovsDb}`]) }]
          : []),
      ];
    }
    case 'ipsec.stop': {
      const p = ipsecPaths(op.dir);
      return [note(`geneve-lab stops ovs-monitor-ipsec (${p.monitorPid}) and strongSwan (${p.starterPid}, ${p.charonPid})`), { argv: ['rm', '-rf', '--', op.dir] }];
    }
    case 'ipsec.conns': {
      const p = ipsecPaths(op.dir);
      return [
        note(`geneve-lab writes ${p.labDir}/${op.file}.conf (connections ${op.conns.map((c) => c.name).join(', ')}) and ${p.labDir}/${op.file}.secrets (0600, PSK <redacted>)`),
        { argv: inNetns(op.ns, [p.wrapper, 'rereadsecrets']) },
        { argv: inNetns(op.ns, [p.wrapper, 'update']) },
      ];
    }
    case 'ipsec.psk':
      return [note(`geneve-lab sets Interface ${op.port} options:psk=<redacted>${op.esp ? ` options:ipsec_esp=${op.esp}` : ''} through ${op.db} (JSON-RPC on stdin, never an argv)`)];
    case 'ipsec.monitor':
      return [{ argv: monitorShowArgv(op) }, note(`geneve-lab repeats this until ovs-monitor-ipsec lists ${op.ports.join(', ')} as CONFIGURED (at most ${op.timeoutMs / 1000} s)`)];
    case 'ipsec.await':
      return [note(`geneve-lab brings up and waits for the IPsec SAs of tunnel ${op.spec.tunnel} (${op.spec.local} <-> ${op.spec.remote}, at most ${op.spec.timeoutMs / 1000} s)`)];
    case 'xfrm.add':
      return [...op.states.map((s) => ip(op.ns, stateAddLine(s), true)), ...op.policies.map((p) => ip(op.ns, policyAddLine(p)))];
    case 'xfrm.del':
      return [...op.policies.map((p) => ip(op.ns, policyDeleteLine(p))), ...op.states.map((s) => ip(op.ns, stateDeleteLine(s)))];
  }
}
