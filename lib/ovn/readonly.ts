/**
 * Which ovn-nbctl / ovn-sbctl commands a check may run: read-only ones only. A check looks at
 * the control plane; changing it is the recipe's `ovn:` section (or a scenario action).
 * Pure, shared by recipe validation and the check itself.
 */

/** Global options a query may carry before its command (output shaping only). */
const OPTION_RE = /^--(columns|bare|format|data|no-headings|pretty|timeout|no-leader-only)(=.*)?$/;

/** The command word of a ctl argv (after its options), e.g. `find` in `--columns=x find Port_Binding`. */
export function ctlCommand(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/** Options before the command that a check may not use (they would change what is asked or of whom). */
export function badOptions(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (!a.startsWith('-')) break;
    if (!OPTION_RE.test(a)) out.push(a);
  }
  return out;
}

/** ovn-trace options that shape its output or its assumptions; nothing that makes it a daemon or reads elsewhere. */
const TRACE_OPTION_RE = /^--(detailed|summary|minimal|all|no-friendly-names|friendly-names|ct=\S+|lb-dst=\S+|select-id=\S+)$/;

const READ_ONLY = new Set(['show', 'list', 'find', 'get', 'lflow-list', 'dump-flows', 'count-flows']);

/** ovn-nbctl / ovn-sbctl commands that only read: show/list/find/get and every `*-list` / `*-get*`. */
export function isReadOnlyCommand(cmd: string): boolean {
  return READ_ONLY.has(cmd) || /-list$/.test(cmd) || /-get(-|$)/.test(cmd);
}

/** `list` and `find` print tables: the check parses them as JSON rows. */
export function isTableCommand(args: readonly string[]): boolean {
  const c = ctlCommand(args);
  return c === 'list' || c === 'find';
}

/** Why a query cannot be a check, or undefined when it can. */
export function queryProblem(tool: 'nbctl' | 'sbctl' | 'trace', args: readonly string[]): string | undefined {
  if (tool === 'trace') {
    const bad = args.filter((a) => a.startsWith('-') && !TRACE_OPTION_RE.test(a));
    if (bad.length) return `option${bad.length > 1 ? 's' : ''} ${bad.join(', ')} not allowed here (the lab chooses the database; the trace runs once, not as a daemon); allowed: --detailed, --summary, --minimal, --all, --no-friendly-names, --ct=…, --lb-dst=…, --select-id=…`;
    if (args.filter((a) => !a.startsWith('-')).length === 0) return 'ovn-trace needs a microflow, e.g. [network1, \'inport == "vm1" && eth.src == … && eth.dst == …\']';
    return undefined;
  }
  const bad = badOptions(args);
  if (bad.length) return `option${bad.length > 1 ? 's' : ''} ${bad.join(', ')} not allowed here; allowed before the command: --columns=…, --bare, --no-headings, --format=…, --data=…`;
  const cmd = ctlCommand(args);
  if (!cmd) return `no command; e.g. [find, Port_Binding, logical_port=vm1] or [get, Datapath_Binding, network1, tunnel_key]`;
  if (!isReadOnlyCommand(cmd))
    return `"${cmd}" changes the database; a check only reads (show, list, find, get, *-list, *-get…, lflow-list). Changes belong in the recipe's ovn: section (ovn.nbctl)`;
  if (isTableCommand(args) && args.some((a) => /^--(format|data|bare|no-headings)/.test(a)))
    return `list/find output is read as JSON rows by the check: drop ${args.filter((a) => /^--(format|data|bare|no-headings)/.test(a)).join(', ')}`;
  return undefined;
}
