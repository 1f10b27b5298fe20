/**
 * The path-MTU check. DF pings (`ping -M do`) of varying payload find the largest packet that
 * crosses the path unfragmented: path MTU = payload + 28 (IPv4: IP 20 + ICMP 8) or + 48 (IPv6).
 * It passes only when that equals the expected MTU AND one byte more is refused — and the
 * refusal is announced (local EMSGSIZE or an ICMP "frag needed"/"packet too big"). Big packets
 * that vanish silently are the classic PMTU black hole and fail the check.
 *
 * The search is pure (a `Prober` is passed in) so it is tested without a network.
 */
import { inNetns } from '../exec/executor.js';
import { encapOverhead, type Family, type Lab, type MtuCheck, type MtuRefusal } from '../model/types.js';
import { tunnelUnderlayMtu } from '../model/topology.js';
import { assert as assertion, type Assertion } from './expect.js';
import type { CheckContext, Endpoint } from './context.js';
import type { CheckResult } from './result.js';
import { parsePing, pingArgv, rawOf, toolStderr } from './ping.js';

export function icmpOverhead(family: Family): number {
  return family === 'ipv6' ? 48 : 28;
}

export type ProbeOutcome =
  | { passed: true }
  | {
      passed: false;
      /** local-mtu: the sender's kernel refused (EMSGSIZE); icmp-too-big: a router said so;
       *  local-drop: dropped on the way out with no MTU info (e.g. ENOBUFS from a veth);
       *  vanished: no reply and no error at all. */
      signal: 'local-mtu' | 'icmp-too-big' | 'local-drop' | 'vanished';
      mtu?: number;
      detail: string;
    };

/** Probe one ICMP payload size with DF set. `careful` = more packets, longer deadline. */
export type Prober = (payload: number, careful: boolean) => Promise<ProbeOutcome>;

export interface MtuSearch {
  /** Largest MTU that passed (payload + overhead). */
  pathMtu: number;
  /** The first size that did not pass and how it failed (undefined: nothing failed up to the cap). */
  refused?: { mtu: number; outcome: Extract<ProbeOutcome, { passed: false }> };
  blackHole: boolean;
  probes: { payload: number; outcome: ProbeOutcome }[];
}

export class MtuProbeError extends Error {}

const SILENT = new Set(['local-drop', 'vanished']);

/**
 * Find the largest passing payload. Probes the expected MTU and one byte more first (the common
 * case costs three probes), then bisects, jumping straight to sizes the kernel named in an MTU hint.
 */
export async function searchPathMtu(probe: Prober, opts: { family: Family; expectedMtu?: number; maxMtu?: number }): Promise<MtuSearch> {
  const oh = icmpOverhead(opts.family);
  const maxPayload = (opts.maxMtu ?? 65535) - oh;
  const probes: MtuSearch['probes'] = [];
  const failures = new Map<number, Extract<ProbeOutcome, { passed: false }>>();
  let lo = 16; // a payload that must pass (checked first)
  let hi: number | undefined; // smallest payload known to fail
  const pending: number[] = [];
  const confirmed = new Set<number>();

  const run = async (payload: number, careful = false): Promise<boolean> => {
    const outcome = await probe(payload, careful);
    probes.push({ payload, outcome });
    if (outcome.passed) {
      if (payload > lo) lo = payload;
      return true;
    }
    failures.set(payload, outcome);
    if (hi === undefined || payload < hi) hi = payload;
    if (outcome.mtu !== undefined) {
      // The kernel named the MTU: try exactly that size and one byte more next (both are
      // really probed; the hint only picks the sizes).
      const limit = outcome.mtu - oh;
      pending.push(limit, limit + 1);
    }
    return false;
  };

  if (!(await run(lo, true))) {
    const f = failures.get(lo)!;
    throw new MtuProbeError(`even small DF pings (${lo + oh} B) do not pass: ${f.detail}`);
  }
  if (opts.expectedMtu !== undefined) {
    const e = opts.expectedMtu - oh;
    if (e > lo) await run(e);
    if (e + 1 > lo && (hi === undefined || e + 1 < hi)) await run(e + 1);
  }
  for (let rounds = 0; rounds < 64; rounds++) {
    if (hi === undefined) {
      if (lo >= maxPayload) break;
      const c = pending.shift();
      await run(c !== undefined && c > lo ? c : maxPayload);
      continue;
    }
    if (hi - lo <= 1) {
      // A silent refusal could be a lost packet: confirm it once with a careful probe so a
      // random loss can never shrink the reported MTU.
      const f = failures.get(hi);
      if (f && SILENT.has(f.signal) && !confirmed.has(hi)) {
        const candidate = hi;
        confirmed.add(candidate);
        failures.delete(candidate);
        hi = undefined;
        await run(candidate, true); // passes → search above it; fails → hi = candidate again
        continue;
      }
      break;
    }
    let next: number | undefined;
    while (pending.length && next === undefined) {
      const c = pending.shift()!;
      if (c > lo && c < hi) next = c;
    }
    await run(next ?? lo + Math.floor((hi - lo) / 2));
  }
  const refused = hi !== undefined ? failures.get(hi) : undefined;
  return {
    pathMtu: lo + oh,
    ...(hi !== undefined && refused ? { refused: { mtu: hi + oh, outcome: refused } } : {}),
    blackHole: refused ? SILENT.has(refused.signal) : false,
    probes,
  };
}

/** What happens to packets of the refused size: "are refused by …", "vanish without an ICMP error". */
export function describeRefusal(o: Extract<ProbeOutcome, { passed: false }>): string {
  switch (o.signal) {
    case 'local-mtu':
      return `are refused by the sender's kernel (message too long, mtu ${o.mtu})`;
    case 'icmp-too-big':
      return `are refused by the path (${o.detail})`;
    case 'local-drop':
      return `are dropped without an ICMP error (${o.detail})`;
    case 'vanished':
      return 'vanish without an ICMP error';
  }
}

export type Verdict = { ok: true } | { ok: false; message: string };

/** The probe signals each `refused:` expectation accepts, and how they are said in messages. */
const REFUSALS: Record<MtuRefusal, { signals: Extract<ProbeOutcome, { passed: false }>['signal'][]; said: string }> = {
  signalled: { signals: ['local-mtu', 'icmp-too-big'], said: 'an ICMP too-big or the sender\'s own "message too long"' },
  icmp: { signals: ['icmp-too-big'], said: 'an ICMP too-big from the path' },
  local: { signals: ['local-mtu'], said: 'the sender\'s own "message too long"' },
  silent: { signals: ['local-drop', 'vanished'], said: 'a silent drop (a PMTU black hole)' },
};

export function mtuVerdict(expected: { mtu: number; source: string }, s: MtuSearch, refusal: MtuRefusal = 'signalled'): Verdict {
  const E = expected.mtu;
  const next = s.refused ? `DF packets of ${s.refused.mtu} B ${describeRefusal(s.refused.outcome)}` : `nothing was refused up to ${s.pathMtu} B`;
  if (s.pathMtu !== E) {
    const hole = s.blackHole && refusal !== 'silent' ? ' — a PMTU black hole: senders are never told to send smaller packets' : '';
    return { ok: false, message: `expected path MTU ${E} (${expected.source}), found ${s.pathMtu}: ${next}${hole}` };
  }
  if (refusal === 'signalled' && s.blackHole)
    return {
      ok: false,
      message: `path MTU is ${E} as expected, but ${next}: a PMTU black hole (a sender whose MTU is larger than ${E} loses big packets silently)`,
    };
  // Nothing refused up to the cap (a path as wide as it can be) is fine unless a kind of refusal was asked for.
  if (refusal === 'signalled') return { ok: true };
  const want = REFUSALS[refusal];
  if (!s.refused || !want.signals.includes(s.refused.outcome.signal))
    return { ok: false, message: `path MTU is ${E} as expected, but ${next}; expected (refused: ${refusal}) ${want.said}` };
  return { ok: true };
}

/**
 * The MTU the path should have when the recipe does not state one: the guest's own MTU when
 * set, else the overlay MTU computed from the underlay (network and host interface MTU) minus
 * the encapsulation overhead of the tunnel(s) serving the endpoint.
 */
export function expectedMtuFor(lab: Lab, check: Pick<MtuCheck, 'from' | 'expectMtu'>): { mtu: number; source: string } | undefined {
  if (check.expectMtu !== undefined) return { mtu: check.expectMtu, source: 'expect_mtu' };
  const guest = lab.guests.find((g) => g.name === check.from);
  if (guest?.mtu !== undefined) return { mtu: guest.mtu, source: `mtu of guest "${guest.name}"` };
  const tunnels = guest
    ? lab.tunnels.filter((t) => t.ends.some((e) => e.attach.kind === 'switch' && e.attach.name === guest.switch))
    : lab.tunnels.filter((t) => t.ends.some((e) => e.attach.kind === 'host' && e.attach.name === check.from));
  let best: { mtu: number; source: string } | undefined;
  for (const t of tunnels) {
    let mtu: number;
    let source: string;
    if (t.mtu !== undefined) {
      mtu = t.mtu;
      source = `mtu of tunnel "${t.name}"`;
    } else {
      // Host NICs and networks at the ends (or the outer tunnel, for a tunnel inside a tunnel);
      // a routed underlay's narrower middle is for `expect:` to state.
      const underlay = tunnelUnderlayMtu(lab, t);
      if (underlay === undefined) continue;
      const oh = encapOverhead(t.type, t.family, t.options);
      mtu = underlay - oh;
      source = `underlay ${underlay} − ${oh} B ${t.type}/${t.family === 'ipv6' ? 'IPv6' : 'IPv4'} overhead of tunnel "${t.name}"`;
    }
    if (!best || mtu < best.mtu) best = { mtu, source };
  }
  return best;
}

/** What the sender's kernel says about the way to a destination (`ip -j route get DST`). */
export interface RouteView {
  dev?: string;
  gateway?: string;
  /** A learned PMTU exception (the route cache's mtu metric), when there is one. */
  pmtuException?: number;
}

/** Parse `ip -j route get DST` (IPv4 and IPv6 print the exception as metrics: [{ mtu: N }]). */
export function parseRouteGet(stdout: string): RouteView | undefined {
  try {
    const r = (JSON.parse(stdout) as { dev?: string; gateway?: string; metrics?: { mtu?: number }[] }[])[0];
    if (!r) return undefined;
    const mtu = r.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
    return { ...(r.dev ? { dev: r.dev } : {}), ...(r.gateway ? { gateway: r.gateway } : {}), ...(mtu !== undefined ? { pmtuException: mtu } : {}) };
  } catch {
    return undefined;
  }
}

export interface SenderView {
  ifname: string;
  mtu: number;
  /** The PMTU exception the sender has learned for the destination (route cache), if any. */
  pmtuException?: number;
  /** What was asked, for messages: "ip -j route get 203.0.113.2 in netns gl-x-left". */
  subject: string;
}

/**
 * The sender's egress interface and its MTU when `address` is on-link (no gateway): then sender
 * and destination share one L2 segment — through the overlay, for guests — and the sender's MTU
 * is what it will try to send there. Read after the search, so a PMTU exception the probes taught
 * it is visible. Undefined when routed or when it cannot be read (the probe stands alone).
 */
export async function onLinkSenderMtu(ep: Endpoint, address: string, family: Family): Promise<SenderView | undefined> {
  const fam = family === 'ipv6' ? '-6' : '-4';
  const route = await ep.exec.run(inNetns(ep.ns, ['ip', '-j', fam, 'route', 'get', address]), { timeoutMs: 5000 });
  const r = parseRouteGet(route.stdout);
  if (!r?.dev || r.gateway) return undefined;
  const link = await ep.exec.run(inNetns(ep.ns, ['ip', '-j', 'link', 'show', 'dev', r.dev]), { timeoutMs: 5000 });
  try {
    const mtu = (JSON.parse(link.stdout) as { mtu?: number }[])[0]?.mtu;
    if (typeof mtu !== 'number') return undefined;
    return { ifname: r.dev, mtu, ...(r.pmtuException !== undefined ? { pmtuException: r.pmtuException } : {}), subject: `ip -j route get ${address}${ep.ns ? ` in netns ${ep.ns}` : ''}` };
  } catch {
    return undefined;
  }
}

/**
 * A path MTU can match its expectation while the sender's own MTU is larger. That is correct when
 * PMTU discovery works — the path told the sender (an ICMP "frag needed"/"packet too big", from a
 * router or from a tunnel device on its way) and the sender's kernel learned a PMTU exception for
 * the destination (`ip route get` shows `mtu N`, N = the path MTU): its next packets fit. It is a
 * fault when nothing was learned — full-size packets then rely on fragmentation and vanish
 * wherever that is not possible — and when what was learned is not the path MTU (a sender that
 * ignores the ICMP's MTU falls back to the kernel's minimum, 552 for IPv4: seen with
 * net.ipv4.ip_no_pmtu_disc=1). (The real black hole — big packets lost with no ICMP at all —
 * already failed the search, see mtuVerdict.)
 */
export function senderMtuVerdict(from: string, pathMtu: number, sender: SenderView | Omit<SenderView, 'subject'> | undefined): Verdict {
  if (!sender || sender.mtu <= pathMtu) return { ok: true };
  if (sender.pmtuException === pathMtu) return { ok: true };
  const seen =
    sender.pmtuException === undefined
      ? 'it has learned no PMTU exception for it (no mtu in `ip route get`)'
      : `the PMTU exception it learned for it is ${sender.pmtuException}, not the path MTU (the ICMP's MTU was ${sender.pmtuException < pathMtu ? 'ignored or wrong' : 'not applied'})`;
  return {
    ok: false,
    message:
      `path MTU is ${pathMtu}, but "${from}" has MTU ${sender.mtu} on ${sender.ifname} towards this on-link destination and ${seen}: ` +
      `its packets of ${pathMtu + 1}–${sender.mtu} B are larger than the path allows (fragmented or refused, lost where no ICMP "frag needed" comes back); set its mtu to ${pathMtu}`,
  };
}

/**
 * The check's assertions, each with what was looked at and observed next to expected (the same
 * shape every check kind reports, lib/checks/expect.ts).
 */
export function mtuAssertions(expected: { mtu: number; source: string }, s: MtuSearch, sender: SenderView | undefined, refusal: MtuRefusal = 'signalled'): Assertion[] {
  const out: Assertion[] = [assertion(`path MTU (DF ping search, expected from ${expected.source})`, expected.mtu, s.pathMtu)];
  const want = REFUSALS[refusal];
  if (s.refused) {
    const a = assertion(`how DF packets of ${s.refused.mtu} B are refused`, { one_of: want.signals }, s.refused.outcome.signal);
    out.push({ ...a, expected: want.said });
  } else if (refusal !== 'signalled') out.push({ field: `how DF packets above ${s.pathMtu} B are refused`, expected: want.said, observed: 'nothing was refused', ok: false });
  if (sender && sender.mtu > s.pathMtu) {
    const a = assertion(`PMTU exception of the sender (${sender.subject}; its MTU on ${sender.ifname} is ${sender.mtu})`, s.pathMtu, sender.pmtuException);
    out.push(a);
  }
  return out;
}

/** Classify one ping run for the search. */
export function probeOutcomeFromPing(stdout: string, stderr: string): ProbeOutcome {
  const p = parsePing(stdout, stderr);
  if (p.fatal) throw new MtuProbeError(`ping failed: ${p.fatal}`);
  if (p.received > 0) return { passed: true };
  if (p.mtuHint) {
    const detail = p.problems.find((x) => /mtu/i.test(x)) ?? `mtu ${p.mtuHint.mtu}`;
    return { passed: false, signal: p.mtuHint.source === 'local' ? 'local-mtu' : 'icmp-too-big', mtu: p.mtuHint.mtu, detail };
  }
  if (p.problems.length) return { passed: false, signal: 'local-drop', detail: p.problems.join('; ') };
  if (p.transmitted === 0) return { passed: false, signal: 'local-drop', detail: 'ping could not send a single DF packet (0 transmitted)' };
  return { passed: false, signal: 'vanished', detail: `no reply to ${p.transmitted} DF pings and no ICMP error` };
}

export async function runMtu(check: MtuCheck, ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const ep = ctx.endpoint(check.from);
  const address = ctx.address(check.to, check.family);
  const expected = expectedMtuFor(ctx.lab, check);
  const what = `path MTU ${check.from} → ${check.to}${address !== check.to ? ` (${address})` : ''}${expected ? `, expect ${expected.mtu}` : ''}`;
  const base = { name: check.name, kind: check.kind, what };
  const rawLog: string[] = [];
  const error = (message: string): CheckResult => ({ ...base, status: 'error', message, figures: {}, durationMs: Date.now() - started, raw: rawLog.join('\n') });
  if (!expected)
    return error(`no expect_mtu given and none can be derived from the lab ("${check.from}" has no MTU and is not served by a tunnel); state expect_mtu`);

  const probe: Prober = async (payload, careful) => {
    const argv = pingArgv({ address, family: check.family, count: careful ? 3 : 2, intervalMs: 200, deadlineS: careful ? 3 : 1, size: payload, df: true });
    const r = await ep.exec.run(inNetns(ep.ns, argv), { timeoutMs: 10_000 });
    rawLog.push(rawOf(r));
    return probeOutcomeFromPing(r.stdout, toolStderr(r.stderr));
  };
  let s: MtuSearch;
  try {
    s = await searchPathMtu(probe, { family: check.family, expectedMtu: expected.mtu });
  } catch (e) {
    if (e instanceof MtuProbeError) return error(`cannot probe the path MTU from "${check.from}" to ${address}: ${e.message}`);
    throw e;
  }
  const refusal = check.refused ?? 'signalled';
  let v = mtuVerdict(expected, s, refusal);
  const figures: Record<string, string | number | boolean> = { path_mtu: s.pathMtu, expected_mtu: expected.mtu, probes: s.probes.length };
  let sender: SenderView | undefined;
  // A black hole asserted on purpose leaves the sender unable to learn anything: no sender verdict.
  if (v.ok && refusal !== 'silent') {
    sender = await onLinkSenderMtu(ep, address, check.family);
    if (sender) figures.sender_mtu = sender.mtu;
    if (sender?.pmtuException !== undefined) figures.pmtu_exception = sender.pmtuException;
    v = senderMtuVerdict(check.from, s.pathMtu, sender);
  }
  if (s.refused) figures.refused = `${s.refused.mtu} B: ${s.refused.outcome.signal}`;
  if (s.blackHole) figures.black_hole = true;
  return {
    ...base,
    status: v.ok ? 'passed' : 'failed',
    ...(v.ok ? {} : { message: v.message }),
    figures,
    durationMs: Date.now() - started,
    raw: rawLog.join('\n'),
    details: { expected, search: s, assertions: mtuAssertions(expected, s, sender, refusal) },
  };
}
