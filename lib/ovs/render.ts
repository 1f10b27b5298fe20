/**
 * The commands behind each OVS plan operation, as argv — for `plan --format sh` (so the
 * printed script is what `up` does) and for tests that assert exact argv. Execution goes
 * through OvsInstance (lib/ovs/instance.ts), which adds readiness waits and error read-back.
 */
import type { Op } from '../plan/ops.js';
import type { OvsCommand } from './commands.js';
import { ovsPaths } from './paths.js';
import { tunnelPortCommands } from './tunnel-port.js';
import { transaction } from './vsctl.js';

export interface OvsArgv {
  ns?: string;
  argv: string[];
  /** Fed on stdin (a program for `ovs-ofctl add-flows BRIDGE -`). */
  input?: string;
}

type OvsOp = Extract<Op, { op: `ovs.${string}` }>;

const netns = (ns: string | undefined, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);

export function ovsCommandArgv(runDir: string, c: OvsCommand): OvsArgv {
  const p = ovsPaths(runDir);
  switch (c.tool) {
    case 'vsctl':
      return { argv: ['ovs-vsctl', `--db=unix:${p.dbSocket}`, '--timeout=10', ...c.args] };
    case 'ofctl':
      // Bridge names resolve to <OVS_RUNDIR>/<bridge>.mgmt, i.e. this instance's sockets.
      return { argv: ['env', `OVS_RUNDIR=${runDir}`, 'ovs-ofctl', '--timeout=10', ...c.args], ...(c.input !== undefined ? { input: c.input } : {}) };
    case 'appctl':
      return { argv: ['ovs-appctl', '--timeout=10', '-t', p.vswitchdCtl, ...c.args] };
    case 'exec':
      return { ...(c.ns ? { ns: c.ns } : {}), argv: c.argv };
  }
}

export function ovsOpArgv(op: OvsOp): OvsArgv[] {
  const p = ovsPaths(op.runDir);
  switch (op.op) {
    case 'ovs.start':
      return [
        { argv: ['mkdir', '-p', op.runDir] },
        { argv: ['touch', p.marker] },
        { argv: ['ovsdb-tool', 'create', p.db] },
        { argv: netns(op.ns, ['ovsdb-server', p.db, `--remote=punix:${p.dbSocket}`, `--pidfile=${p.ovsdbPid}`, `--unixctl=${p.ovsdbCtl}`, `--log-file=${p.ovsdbLog}`, '--no-chdir', '--detach']) },
        { argv: ['ovs-vsctl', `--db=unix:${p.dbSocket}`, '--timeout=10', '--no-wait', 'init'] },
        { argv: netns(op.ns, ['ovs-vswitchd', `unix:${p.dbSocket}`, `--pidfile=${p.vswitchdPid}`, `--unixctl=${p.vswitchdCtl}`, `--log-file=${p.vswitchdLog}`, '--no-chdir', '--detach']) },
      ];
    case 'ovs.stop':
      return [
        { argv: ['ovs-appctl', '--timeout=10', '-t', p.vswitchdCtl, 'exit', '--cleanup'] },
        { argv: ['ovs-appctl', '--timeout=10', '-t', p.ovsdbCtl, 'exit'] },
        { argv: ['rm', '-rf', '--', op.runDir] },
      ];
    case 'ovs.cmds':
      return op.cmds.map((c) => ovsCommandArgv(op.runDir, c));
    case 'ovs.tunnel':
      return [ovsCommandArgv(op.runDir, { tool: 'vsctl', args: transaction(tunnelPortCommands(op.port)) })];
  }
}
