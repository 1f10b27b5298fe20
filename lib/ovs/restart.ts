/**
 * Restart ovs-vswitchd on the same database — the classic "does the datapath survive a daemon
 * restart" test. vswitchd is asked to `exit` WITHOUT --cleanup, so what lives in the kernel stays:
 * the openvswitch datapath and its vport netdevs (kernel datapath), the persistent taps of the
 * userspace datapath with their addresses. Then it is started again with exactly the command line
 * it had (read from /proc/PID/cmdline: same database, pidfile, control socket, log, namespace),
 * and the restart is complete when it answers and has applied the database again.
 *
 * An SSH machine's service: when systemd runs it (ovs-vswitchd.service is active), `systemctl
 * restart` does it the distribution's way (its stop does not clean the datapath either); otherwise
 * the same exit-and-start as above.
 */
import { inNetns, shellQuote, type Executor } from '../exec/executor.js';
import { OpError } from '../errors.js';
import { ovsEnv } from './paths.js';

export interface RestartTarget {
  exec: Executor;
  /** Namespace vswitchd runs in (simulated hosts); undefined: the machine's own. */
  ns?: string;
  /** The instance's run directory (OVS_RUNDIR). */
  runDir: string;
  pidfile: string;
  dbSocket: string;
  /** The lab's own daemons (vs a machine's service). */
  owned: boolean;
  /** For messages: `OVS on host "box-1"`. */
  label: string;
  timeoutMs: number;
}

export interface RestartOutcome {
  oldPid: number;
  newPid: number;
  /** How it was done. */
  how: 'exit+start' | 'systemctl';
  /** Milliseconds until vswitchd had applied the database again. */
  readyMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readPid(exec: Executor, pidfile: string): Promise<number | undefined> {
  const r = await exec.run(['cat', pidfile]);
  const pid = r.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** A live (non-zombie) process. */
async function alive(exec: Executor, pid: number): Promise<boolean> {
  const r = await exec.run(['cat', `/proc/${pid}/stat`]);
  if (r.exitCode !== 0) return false;
  const state = /\)\s+(\S)/.exec(r.stdout)?.[1];
  return state !== 'Z' && state !== 'X';
}

export async function restartVswitchd(t: RestartTarget): Promise<RestartOutcome> {
  const { exec } = t;
  const t0 = Date.now();
  const deadline = t0 + t.timeoutMs;
  const fail = (request: string, kernelMessage: string, stderr?: string): never => {
    throw new OpError({ subject: `restarting ovs-vswitchd (${t.label})`, ...(t.ns ? { ns: t.ns } : {}), request, kernelMessage, ...(stderr ? { stderr } : {}) });
  };
  const oldPid = await readPid(exec, t.pidfile);
  if (oldPid === undefined || !(await alive(exec, oldPid))) fail(`cat ${t.pidfile}`, `ovs-vswitchd is not running (no live pid in ${t.pidfile})`);
  const pid = oldPid!;
  const cmd = await exec.run(['cat', `/proc/${pid}/cmdline`]);
  const argv = cmd.stdout.split('\0').filter(Boolean);
  if (cmd.exitCode !== 0 || !argv.length) fail(`cat /proc/${pid}/cmdline`, `cannot read the command line of ovs-vswitchd (pid ${pid})`, cmd.stderr);
  // Owned daemons name their run directory; anything else in that pidfile is not ours to restart.
  if (t.owned && !argv.some((a) => a.includes(`${t.runDir.replace(/\/+$/, '')}/`))) fail(`cat /proc/${pid}/cmdline`, `pid ${pid} from ${t.pidfile} is not this lab's ovs-vswitchd (${shellQuote(argv)})`);
  const env = ovsEnv(t.runDir);

  let how: RestartOutcome['how'] = 'exit+start';
  if (!t.owned && (await exec.run(['systemctl', 'is-active', '--quiet', 'ovs-vswitchd.service'])).exitCode === 0) {
    how = 'systemctl';
    const r = await exec.run(['systemctl', 'restart', 'ovs-vswitchd.service'], { timeoutMs: t.timeoutMs });
    if (r.exitCode !== 0) fail('systemctl restart ovs-vswitchd.service', `systemctl failed (exit ${r.exitCode})`, r.stderr);
  } else {
    // Not --cleanup: the kernel datapath, its vports and the userspace taps stay.
    const ctl = argv.find((a) => a.startsWith('--unixctl='))?.slice('--unixctl='.length) ?? `${t.runDir}/ovs-vswitchd.${pid}.ctl`;
    const exit = await exec.run(['ovs-appctl', '--timeout=10', '-t', ctl, 'exit'], { env, timeoutMs: 15_000 });
    if (exit.exitCode !== 0 && (await alive(exec, pid))) fail(shellQuote(['ovs-appctl', '-t', ctl, 'exit']), `ovs-vswitchd did not accept "exit" (exit ${exit.exitCode})`, exit.stderr);
    while (await alive(exec, pid)) {
      if (Date.now() > deadline) fail(`ovs-appctl -t ${ctl} exit`, `ovs-vswitchd (pid ${pid}) still runs ${t.timeoutMs / 1000} s after "exit"`);
      await sleep(50);
    }
    const start = await exec.run(inNetns(t.ns, argv), { env, timeoutMs: Math.max(5000, deadline - Date.now()) });
    if (start.exitCode !== 0) fail(shellQuote(inNetns(t.ns, argv)), `ovs-vswitchd did not start again (exit ${start.exitCode})`, start.stderr);
  }

  // Ready: answering on its control socket, and a database change was applied (ovs-vsctl without
  // --no-wait blocks until vswitchd has reconfigured: bridges, ports and tunnels are back).
  let newPid: number | undefined;
  let last = '';
  for (;;) {
    newPid = await readPid(exec, t.pidfile);
    if (newPid !== undefined && newPid !== pid) {
      const v = await exec.run(['ovs-appctl', '--timeout=2', '-t', `${t.runDir.replace(/\/+$/, '')}/ovs-vswitchd.${newPid}.ctl`, 'version'], { env });
      const ctlArg = argv.find((a) => a.startsWith('--unixctl='))?.slice('--unixctl='.length);
      const ok = v.exitCode === 0 || (ctlArg !== undefined && (await exec.run(['ovs-appctl', '--timeout=2', '-t', ctlArg, 'version'], { env })).exitCode === 0);
      if (ok) {
        const mark = `external_ids:geneve-lab-restarted=${Date.now()}`;
        const w = await exec.run(['ovs-vsctl', `--db=unix:${t.dbSocket}`, '--timeout=5', 'set', 'Open_vSwitch', '.', mark], { timeoutMs: 10_000 });
        if (w.exitCode === 0) {
          // A machine's service keeps no key of ours.
          if (!t.owned) await exec.run(['ovs-vsctl', `--db=unix:${t.dbSocket}`, '--no-wait', 'remove', 'Open_vSwitch', '.', 'external_ids', 'geneve-lab-restarted']);
          break;
        }
        last = w.stderr.trim();
      } else last = v.stderr.trim();
    } else last = `no new pid in ${t.pidfile} yet`;
    if (Date.now() > deadline) fail('wait for ovs-vswitchd', `ovs-vswitchd was not ready again within ${t.timeoutMs / 1000} s: ${last}`);
    await sleep(100);
  }
  return { oldPid: pid, newPid: newPid!, how, readyMs: Date.now() - t0 };
}
