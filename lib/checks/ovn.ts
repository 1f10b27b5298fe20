/**
 * The `ovn` check kind: read the lab's OVN control plane and assert on it with
 * lib/checks/expect.ts, like every check kind.
 *   nbctl/sbctl `list`/`find`  → JSON rows; `expect` maps paths of `{ rows: [...], count }` to matchers
 *   nbctl/sbctl other commands → text; `expect` is one matcher over the trimmed output
 *   trace                      → ovn-trace's text; `expect` is one matcher
 *   tunnels: mesh              → every chassis has exactly one Geneve tunnel port to each other
 *                                 chassis' encap address (what ovn-controller builds), none in error
 */
import { shellQuote, type Executor } from '../exec/executor.js';
import { LocalExecutor } from '../exec/executor.js';
import type { OvnCheck } from '../model/ovn.js';
import type { Lab } from '../model/types.js';
import { parseOvsdbTable, asMap, asOptional } from '../ovs/ovsdb-json.js';
import { ovsPaths } from '../ovs/paths.js';
import { ovsRunDir } from '../plan/ovs.js';
import { isTableCommand } from '../ovn/readonly.js';
import { DEFAULT_RUN_ROOT, ovnTarget, queryArgv, runQuery } from '../ovn/query.js';
import type { CheckContext } from './context.js';
import { assert, assertionVerdict, getPath, type Assertion, type Matcher, type Scalar } from './expect.js';
import type { CheckResult } from './result.js';

/** The executor the lab's OVN clients run with: a host of the lab (OVN runs on simulated hosts only). */
export function ovnExec(ctx: CheckContext): Executor {
  const ovn = ctx.lab.ovn;
  const host = ovn?.central.host ?? ovn?.chassis[0]?.host;
  return host ? ctx.endpoint(host).exec : new LocalExecutor();
}

export function ovnCheckWhat(c: OvnCheck): string {
  if (c.query.tool === 'mesh') return 'OVN: a Geneve tunnel from every chassis to every other';
  return `${c.query.tool === 'trace' ? 'ovn-trace' : `ovn-${c.query.tool}`} ${shellQuote(c.query.args)}`;
}

/** `"text"` as printed by ovn-*ctl for string atoms → text; anything else unchanged. */
function unquote(s: string): string {
  if (/^".*"$/s.test(s)) {
    try {
      return String(JSON.parse(s));
    } catch {
      return s;
    }
  }
  return s;
}

export async function runOvnCheck(check: OvnCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const base = { name: check.name, kind: check.kind, what: ovnCheckWhat(check) };
  const done = (r: Partial<CheckResult> & Pick<CheckResult, 'status'>): CheckResult => ({ ...base, figures: {}, durationMs: Date.now() - started, ...r });
  if (!ctx.lab.ovn) return done({ status: 'error', message: 'the lab has no ovn: section, so there is no OVN to ask' });
  const target = ovnTarget(ctx.lab, ovnExec(ctx), ctx.runRoot ?? DEFAULT_RUN_ROOT);
  if (check.query.tool === 'mesh') return done(await meshVerdict(ctx));

  const { tool, args } = check.query;
  const table = tool !== 'trace' && isTableCommand(args);
  const full = table ? ['--format=json', '--data=json', ...args] : args;
  const subject = shellQuote(queryArgv(target, tool, full));
  const r = await runQuery(target, tool, full);
  if (r.exitCode !== 0)
    return done({ status: 'error', message: `${subject} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim() || 'no output'} — nothing could be observed`, raw: r.stdout + r.stderr });
  let assertions: Assertion[];
  let observed: unknown;
  if (table) {
    let rows;
    try {
      rows = parseOvsdbTable(r.stdout);
    } catch (e) {
      return done({ status: 'error', message: `${subject}: ${(e as Error).message}`, raw: r.stdout });
    }
    observed = { rows, count: rows.length };
    assertions = Object.entries((check.expect ?? {}) as Record<string, Scalar | Matcher>).map(([path, m]) => assert(path, m, getPath(observed, path)));
  } else {
    observed = unquote(r.stdout.trim());
    assertions = [assert('output', check.expect as Scalar | Matcher, observed)];
  }
  const v = assertionVerdict(subject, assertions);
  return done({
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures: table ? { rows: (observed as { count: number }).count } : {},
    raw: r.stdout,
    details: { assertions: v.assertions, observed },
  });
}

/**
 * `tunnels: mesh`: read each chassis' OVS (the Interface table of its own ovsdb-server) and
 * compare its Geneve ports' remote_ip with the other chassis' encap addresses.
 */
async function meshVerdict(ctx: CheckContext): Promise<Partial<CheckResult> & Pick<CheckResult, 'status'>> {
  const lab: Lab = ctx.lab;
  const ovn = lab.ovn!;
  const runRoot = ctx.runRoot ?? DEFAULT_RUN_ROOT;
  const assertions: Assertion[] = [];
  const observed: Record<string, string[]> = {};
  let ports = 0;
  for (const c of ovn.chassis) {
    const db = ovsPaths(ovsRunDir(runRoot, lab.name, c.host)).dbSocket;
    const argv = ['ovs-vsctl', `--db=unix:${db}`, '--timeout=10', '--format=json', '--data=json', '--columns=name,type,options,error,external_ids', 'find', 'Interface', 'type=geneve'];
    const r = await ctx.endpoint(c.host).exec.run(argv, { timeoutMs: 20_000 });
    if (r.exitCode !== 0)
      return { status: 'error', message: `chassis "${c.name}": ${shellQuote(argv)} failed: ${r.stderr.trim() || `exit ${r.exitCode}`} — its OVS could not be read` };
    const rows = parseOvsdbTable(r.stdout);
    ports += rows.length;
    const remotes = rows.map((x) => asMap(x.options).remote_ip ?? '(none)').sort();
    observed[c.name] = remotes;
    const want = ovn.chassis.filter((o) => o !== c).map((o) => o.encapIp).sort();
    const same = remotes.length === want.length && remotes.every((x, i) => x === want[i]);
    assertions.push({
      field: `chassis ${c.name}: Geneve tunnels (remote_ip)`,
      expected: `${want.length} port${want.length === 1 ? '' : 's'}: ${want.join(', ') || 'none'}`,
      observed: `${remotes.length} port${remotes.length === 1 ? '' : 's'}: ${remotes.join(', ') || 'none'}`,
      ok: same,
    });
    const errors = rows.filter((x) => asOptional<string>(x.error)).map((x) => `${String(x.name)}: ${asOptional<string>(x.error)}`);
    if (errors.length) assertions.push({ field: `chassis ${c.name}: tunnel port errors`, expected: 'none', observed: errors.join('; '), ok: false });
  }
  const v = assertionVerdict(`Geneve tunnel ports of ${ovn.chassis.length} chassis (ovs-vsctl find Interface type=geneve on each)`, assertions);
  return {
    status: v.status,
    ...(v.message ? { message: v.message } : {}),
    figures: { chassis: ovn.chassis.length, tunnel_ports: ports, per_chassis: Math.max(0, ovn.chassis.length - 1) },
    details: { assertions: v.assertions, observed },
  };
}
