/**
 * `up` waits for a tunnel's SAs: from the tunnel's first end it brings the strongSwan connections
 * up (`ipsec up`, which also retries while the far end is still loading its configuration) until
 * every one has an installed CHILD_SA, then says how long negotiation took. It does not fail the
 * lab when they never come up (a wrong PSK is a legitimate scenario): it reports why, and the
 * checks that then fail say the SA never came up (diagnose.ts).
 */
import { inNetns, type Executor } from '../exec/executor.js';
import type { AwaitSpec } from './ops.js';
import { ipsecCmd, logTail } from './daemons.js';
import { ipsecPaths } from './paths.js';
import { installed, negotiationHints, ovsPortConns, parseIpsecStatus, type ChildSa } from './status.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AwaitOutcome {
  established: boolean;
  ms: number;
  /** The connections and their SPIs (hex), when established. */
  children: ChildSa[];
  /** Why not, when not. */
  reason?: string;
}

export interface AwaitTarget {
  exec: Executor;
  ns: string;
  /** The lab's IPsec directory on a simulated host; undefined = the machine's own `ipsec`. */
  ipsecDir?: string;
}

export function ipsecArgv(t: AwaitTarget): string[] {
  return t.ipsecDir ? ipsecCmd(ipsecPaths(t.ipsecDir), t.ns) : inNetns(t.ns || undefined, ['ipsec']);
}

/**
 * The end of charon's log: the lab's own file on a simulated host; on a machine's own IKE service
 * (an SSH host) its journal (charon logs to syslog under the ident "charon"; this boot only).
 * Empty when there is none to read. `timestamps`: journal lines with their time (artifacts).
 */
export async function charonLogTail(t: AwaitTarget, lines: number, timestamps = false): Promise<string> {
  if (t.ipsecDir) return logTail(t.exec, ipsecPaths(t.ipsecDir).charonLog, lines);
  const r = await t.exec.run(['journalctl', '-q', '--no-pager', '-b', '-o', timestamps ? 'short-iso' : 'cat', '-t', 'charon', '-n', String(lines)], { timeoutMs: 15_000 });
  return r.exitCode === 0 ? r.stdout.trim() : '';
}

/** How long authentication keeps failing before `up` stops waiting (the peer had time to load its key). */
export const AUTH_GIVE_UP_MS = 20_000;

/**
 * How long the same SAs must stay installed before `up` calls them established: an SA that a
 * refresh of ovs-monitor-ipsec, a duplicate CHILD_SA or an IKE_SA replaced by uniqueids is about
 * to delete can still be listed as INSTALLED for a moment.
 */
export const STABLE_MS = 1000;

/** The installed SAs as one comparable value: connection, CHILD_SA id and both SPIs of each. */
const saKey = (children: ChildSa[]) => children.map((c) => `${c.conn}{${c.id}}${c.spis ? `${c.spis.in}/${c.spis.out}` : ''}`).join(' ');

export async function awaitSas(t: AwaitTarget, spec: AwaitSpec, now = () => Date.now(), pause = sleep): Promise<AwaitOutcome> {
  const ipsec = ipsecArgv(t);
  const t0 = now();
  const deadline = t0 + spec.timeoutMs;
  let lastUp = 0;
  let lastError = '';
  let conns: string[] = [];
  // A PSK mismatch does not heal: after repeated authentication failures (past the moment the
  // peer may still have been loading its key) waiting longer only delays the report.
  let authFailedSince: number | undefined;
  let authFailures = 0;
  let seen: { key: string; since: number } | undefined;
  for (;;) {
    const st = await t.exec.run([...ipsec, 'status'], { timeoutMs: 15_000 });
    const status = parseIpsecStatus(st.stdout);
    conns = 'names' in spec.conns ? spec.conns.names : ovsPortConns(status.routed, spec.conns.ovsPort);
    const children = conns.map((c) => installed(status, c));
    if (conns.length && children.every(Boolean)) {
      // Established once the same SAs are still there STABLE_MS later.
      const key = saKey(children as ChildSa[]);
      if (seen?.key === key && now() - seen.since >= STABLE_MS) return { established: true, ms: now() - t0, children: children as ChildSa[] };
      if (seen?.key !== key) seen = { key, since: now() };
      if (now() >= deadline) {
        lastError = `the SAs were installed but kept being replaced (none stayed ${STABLE_MS} ms)`;
        break;
      }
      await pause(250);
      continue;
    }
    seen = undefined;
    if (now() >= deadline) break;
    // Initiate (again) once the connections are loaded here; an attempt that fails because the
    // peer is not ready yet (no proposal, no key) is retried.
    const ready = conns.length > 0 && conns.every((c) => status.routed.includes(c) || status.children.some((x) => x.conn === c));
    if (ready && now() - lastUp > 2000) {
      lastUp = now();
      for (const c of conns.filter((c) => !installed(status, c))) {
        const r = await t.exec.run([...ipsec, 'up', c], { timeoutMs: Math.max(1000, Math.min(20_000, deadline - now())) });
        // `ipsec up` exits 0 whether or not the connection came up: its output says which.
        if (/established successfully/.test(r.stdout)) continue;
        lastError = r.stdout.split('\n').filter((l) => /failed|error|notify/i.test(l)).slice(-2).join(' / ') || `ipsec up ${c}: exit ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`;
        if (/AUTHENTICATION_FAILED/.test(r.stdout)) {
          authFailedSince ??= now();
          authFailures++;
        } else {
          authFailedSince = undefined;
          authFailures = 0;
        }
      }
      if (authFailures >= 3 && authFailedSince !== undefined && now() - authFailedSince >= AUTH_GIVE_UP_MS) break;
      continue;
    }
    await pause(250);
  }
  const log = await charonLogTail(t, 200);
  const hints = negotiationHints(`${log}\n${lastError}`);
  const what = !conns.length
    ? 'no strongSwan connection for it was ever configured' + ('ovsPort' in spec.conns ? ` (ovs-monitor-ipsec did not write one for port "${spec.conns.ovsPort}")` : '')
    : hints.length
      ? hints.join('; ')
      : lastError || 'no CHILD_SA was installed';
  return { established: false, ms: now() - t0, children: [], reason: what };
}

export function spisText(children: ChildSa[]): string {
  return children.map((c) => `${c.conn} ${c.spis ? `SPIs 0x${c.spis.out.toString(16)} out, 0x${c.spis.in.toString(16)} in` : ''}`.trim()).join('; ');
}
