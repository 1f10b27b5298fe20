/**
 * One Open vSwitch instance the lab talks to: either daemons the lab started itself inside a
 * simulated host (`startOvs`, daemons.ts) or a real host's running service (`attachOvs`).
 * Everything the lab creates is tagged external_ids:geneve-lab=<lab>; cleanup touches only that.
 */
import { inNetns, type Executor, type RunResult } from '../exec/executor.js';
import { OpError } from '../errors.js';
import type { OvsCommand } from './commands.js';
import { commandFailed } from './errors.js';
import { asOptional, parseOvsdbTable } from './ovsdb-json.js';
import { ovsEnv } from './paths.js';
import { buildStatus, type OvsStatus } from './status.js';
import { tunnelPortCommands, type TunnelPortSpec } from './tunnel-port.js';
import { OWNER_KEY, transaction } from './vsctl.js';
import { failedInputLine, refusedLine } from './flows.js';

/**
 * Which line of a program ovs-ofctl refused, in the recipe's terms: its parser names the input
 * line ("-:3: …"); a switch's refusal (OFPT_ERROR) echoes the flow mod, matched to the closest line.
 */
export function explainProgramFailure(stderr: string, input: string | undefined, inputAt: readonly string[] | undefined): string | undefined {
  const lines = input !== undefined ? input.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '') : [];
  const n = input !== undefined ? failedInputLine(stderr) : inputAt?.length === 1 ? 1 : undefined;
  const which = n ?? refusedLine(stderr, lines.map((text) => ({ text })));
  if (which === undefined) return inputAt?.length ? `(one of the ${inputAt.length} lines of the program; ovs-ofctl did not say which)` : undefined;
  const at = inputAt?.[which - 1];
  const text = lines[which - 1];
  const guess = n === undefined && input !== undefined ? 'probably ' : '';
  return `${guess}line ${which} of the program${at ? `, written at ${at}` : ''}${text !== undefined ? `: ${text}` : ''}`;
}

export interface OvsTarget {
  /** Path of ovsdb-server's unix socket. */
  dbSocket: string;
  /** ovs-vswitchd's unixctl socket; undefined = the service default. */
  vswitchdCtl?: string;
  /** OVS_RUNDIR for tools (bridge .mgmt sockets); undefined = the service default. */
  runDir?: string;
  /** vswitchd log, read back for warnings about ports we add. */
  vswitchdLog?: string;
}

export interface OvsInstanceOptions {
  exec: Executor;
  /** The lab's ownership tag value. */
  lab: string;
  /** Namespace the daemons (and the ports' netdevs) live in; undefined = root namespace. */
  ns?: string;
  /** Label for messages, e.g. `OVS on host "box-1"`. */
  label?: string;
  /** Seconds ovs-vsctl waits for the database / vswitchd. */
  timeoutSec?: number;
}

export interface AddPortResult {
  /** Lines vswitchd logged about the port (e.g. "unknown geneve argument"). */
  warnings: string[];
}

export class OvsInstance {
  readonly exec: Executor;
  readonly lab: string;
  readonly ns: string | undefined;
  readonly label: string;
  readonly target: OvsTarget;
  protected readonly timeoutSec: number;

  constructor(target: OvsTarget, o: OvsInstanceOptions) {
    this.exec = o.exec;
    this.lab = o.lab;
    this.ns = o.ns;
    this.target = target;
    this.timeoutSec = o.timeoutSec ?? 10;
    this.label = o.label ?? (o.ns ? `OVS in netns ${o.ns}` : 'OVS');
  }

  get dbSocket(): string {
    return this.target.dbSocket;
  }

  private env(): Record<string, string> | undefined {
    return this.target.runDir ? ovsEnv(this.target.runDir) : undefined;
  }

  private async tool(subject: string, argv: string[], input?: string, explain?: (r: RunResult) => string | undefined): Promise<string> {
    const env = this.env();
    // A whole program on stdin may be large: allow it a second per 2000 lines on top.
    const extra = input ? Math.ceil(input.length / 100_000) * 1000 : 0;
    const r = await this.exec.run(argv, { timeoutMs: (this.timeoutSec + 5) * 1000 + extra, ...(env ? { env } : {}), ...(input !== undefined ? { input } : {}) });
    if (r.exitCode !== 0) throw commandFailed(`${subject} (${this.label})`, r, this.ns, explain?.(r));
    return r.stdout;
  }

  /** ovs-vsctl against this instance's database; args may hold several `--`-joined commands. */
  vsctl(args: readonly string[], subject = 'ovs-vsctl'): Promise<string> {
    return this.tool(subject, ['ovs-vsctl', `--db=unix:${this.target.dbSocket}`, `--timeout=${this.timeoutSec}`, ...args]);
  }

  /**
   * ovs-ofctl; bridge names resolve to this instance's .mgmt sockets. `input` goes to its stdin
   * (`add-flows BRIDGE -`); `inputAt[i]` names where line i+1 came from, so a refusal quotes it.
   */
  ofctl(args: readonly string[], subject = 'ovs-ofctl', input?: string, inputAt?: readonly string[]): Promise<string> {
    const explain = input !== undefined || inputAt?.length ? (r: RunResult) => explainProgramFailure(r.stderr, input, inputAt) : undefined;
    return this.tool(subject, ['ovs-ofctl', `--timeout=${this.timeoutSec}`, ...args], input, explain);
  }

  /** ovs-appctl to ovs-vswitchd (or another unixctl socket via `target`). */
  appctl(args: readonly string[], subject = 'ovs-appctl', target = this.target.vswitchdCtl): Promise<string> {
    return this.tool(subject, ['ovs-appctl', `--timeout=${this.timeoutSec}`, ...(target ? ['-t', target] : []), ...args]);
  }

  /** Run builder output in order; the first failure throws an OpError naming `subject`. */
  async apply(cmds: readonly OvsCommand[], subject = this.label): Promise<void> {
    for (const c of cmds) {
      switch (c.tool) {
        case 'vsctl':
          await this.vsctl(c.args, subject);
          break;
        case 'ofctl':
          await this.ofctl(c.args, subject, c.input, c.inputAt);
          break;
        case 'appctl':
          if (c.args[0] === 'ovs/route/add') await this.addRouteRetrying(c.args, subject);
          else await this.appctl(c.args, subject);
          break;
        case 'exec': {
          const r = await this.exec.run(inNetns(c.ns, c.argv), { timeoutMs: 15000 });
          if (r.exitCode !== 0) throw commandFailed(subject, r, c.ns);
          break;
        }
      }
    }
  }

  /**
   * ovs/route/add needs a source address on the output bridge, which vswitchd learns from the
   * kernel asynchronously just after the address is added: retry briefly before failing.
   */
  private async addRouteRetrying(args: readonly string[], subject: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.appctl(args, subject);
        return;
      } catch (e) {
        if (Date.now() > deadline || !/Error while inserting route/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * Create/update a tunnel port in one transaction, then read back what OVS thought of it:
   * an Interface.error becomes an OpError naming the port; log warnings are returned.
   */
  async addTunnelPort(spec: TunnelPortSpec): Promise<AddPortResult> {
    const subject = `tunnel port "${spec.name}" (${spec.type}) on bridge "${spec.bridge}"`;
    const argv = transaction(tunnelPortCommands({ ...spec, lab: spec.lab || this.lab }));
    const existed = (await this.exec.run(['ovs-vsctl', `--db=unix:${this.target.dbSocket}`, `--timeout=${this.timeoutSec}`, 'port-to-br', spec.name])).exitCode === 0;
    const logStart = await this.logSize();
    await this.vsctl(argv, subject);
    const error = await this.interfaceError(spec.name);
    const warnings = await this.logLinesAbout(spec.name, logStart);
    if (error) {
      // A port we just created and OVS refused is removed again, so a failed step leaves nothing behind.
      if (!existed) await this.vsctl(['--if-exists', 'del-port', spec.bridge, spec.name], subject).catch(() => {});
      throw new OpError({
        subject: `${subject} (${this.label})`,
        ...(this.ns ? { ns: this.ns } : {}),
        request: ['ovs-vsctl', ...argv].join(' '),
        kernelMessage: `OVS rejected the port: ${error}${warnings.length ? '\n    vswitchd log: ' + warnings.join('\n    vswitchd log: ') : ''}${existed ? '' : '\n    (the port was removed again)'}`,
      });
    }
    return { warnings };
  }

  /** The Interface.error OVS recorded for `name`, or undefined. */
  async interfaceError(name: string): Promise<string | undefined> {
    const out = await this.vsctl(['--format=json', '--data=json', '--columns=name,error', 'find', 'Interface', `name=${JSON.stringify(name)}`]);
    const row = parseOvsdbTable(out)[0];
    return row ? asOptional<string>(row.error) : undefined;
  }

  private async logSize(): Promise<number | undefined> {
    if (!this.target.vswitchdLog) return undefined;
    const r = await this.exec.run(['stat', '-c', '%s', this.target.vswitchdLog]);
    return r.exitCode === 0 ? Number(r.stdout.trim()) : undefined;
  }

  /** WARN/ERR lines vswitchd logged since `from` that mention `name`. */
  private async logLinesAbout(name: string, from: number | undefined): Promise<string[]> {
    if (from === undefined || !this.target.vswitchdLog) return [];
    const r: RunResult = await this.exec.run(['tail', '-c', `+${from + 1}`, this.target.vswitchdLog]);
    if (r.exitCode !== 0) return [];
    return r.stdout
      .split('\n')
      .filter((l) => /\|(WARN|ERR|EMER)\|/.test(l) && l.includes(name))
      .map((l) => l.replace(/^\S+\|\d+\|/, ''));
  }

  /** Bridges/ports/interfaces (with options and errors) and tunnel listeners. */
  async status(): Promise<OvsStatus> {
    const list = (table: string, cols: string) => this.vsctl(['--format=json', '--data=json', `--columns=${cols}`, 'list', table], 'status');
    const [b, p, i] = await Promise.all([
      list('Bridge', '_uuid,name,datapath_type,external_ids,ports'),
      list('Port', '_uuid,name,external_ids,interfaces'),
      list('Interface', '_uuid,name,type,options,ofport,mtu,error,status'),
    ]);
    const tnl = await this.appctl(['tnl/ports/show'], 'status').catch(() => '');
    return buildStatus(b, p, i, tnl);
  }

  /** Names of bridges and ports tagged with this lab. */
  async labObjects(): Promise<{ bridges: string[]; ports: string[] }> {
    const find = async (table: string) =>
      parseOvsdbTable(await this.vsctl(['--format=json', '--data=json', '--columns=name', 'find', table, `external_ids:${OWNER_KEY}=${JSON.stringify(this.lab)}`])).map((r) =>
        String(r.name),
      ).sort();
    return { bridges: await find('Bridge'), ports: await find('Port') };
  }

  /**
   * Delete this lab's bridges, then its ports left on bridges it does not own (one transaction).
   * Untagged bridges/ports — the user's own — are never touched.
   */
  async removeLabObjects(): Promise<{ bridges: string[]; ports: string[] }> {
    const { bridges, ports } = await this.labObjects();
    if (!bridges.length && !ports.length) return { bridges, ports };
    const onOwnBridges = new Set<string>();
    for (const br of bridges) for (const p of (await this.vsctl(['list-ports', br])).split('\n').filter(Boolean)) onOwnBridges.add(p);
    const strayPorts = ports.filter((p) => !onOwnBridges.has(p) && !bridges.includes(p));
    await this.vsctl(
      transaction([...strayPorts.map((p) => ['--if-exists', 'del-port', p]), ...bridges.map((b) => ['--if-exists', 'del-br', b])]),
      `removing lab "${this.lab}" bridges/ports`,
    );
    return { bridges, ports: strayPorts };
  }

  /** Attached instances: remove the lab's objects and leave the service running. */
  async stop(): Promise<void> {
    await this.removeLabObjects();
  }
}

/**
 * Use an OVS service that is already running (a real host). Only objects tagged with `lab`
 * are ever modified or removed by cleanup.
 */
export async function attachOvs(o: OvsInstanceOptions & Partial<OvsTarget> & { dbSocket?: string }): Promise<OvsInstance> {
  const target: OvsTarget = {
    dbSocket: o.dbSocket ?? '/var/run/openvswitch/db.sock',
    ...(o.vswitchdCtl ? { vswitchdCtl: o.vswitchdCtl } : {}),
    ...(o.runDir ? { runDir: o.runDir } : {}),
    ...(o.vswitchdLog ? { vswitchdLog: o.vswitchdLog } : {}),
  };
  const inst = new OvsInstance(target, { ...o, label: o.label ?? `OVS service at ${target.dbSocket}` });
  await inst.vsctl(['show'], 'connecting to the running OVS service');
  return inst;
}
