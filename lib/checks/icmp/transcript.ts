/**
 * What iputils' ping would have printed for the probes an in-process pinger made (pure).
 *
 * The in-process path writes ping's own report and hands it to the same parser (parsePing) and
 * verdict (pingVerdict) as the process path: one set of rules for loss, errors, unreachability
 * and messages, whichever way the packets were sent — and the check's raw output still reads
 * like ping's.
 */
import type { Family } from '../../model/types.js';

export interface ProbeLog {
  address: string;
  family: Family;
  size: number;
  /** Probes sent (sequence numbers 1..transmitted). */
  transmitted: number;
  /** Echo replies, one per sequence number, in arrival order. */
  replies: { seq: number; from: string; rttMs: number }[];
  /** ICMP errors quoting our probes (iputils counts them as "+N errors"). */
  errors: { seq: number; from: string; text: string }[];
  /** Replies seen again for a sequence already answered. */
  duplicates: number;
  /** Local failures as ping prints them on stderr ("ping: sendmsg: …"). */
  stderr: string[];
  elapsedMs: number;
}

/** ping's time format: 3 decimals below 1 ms, 2 below 10, 1 below 100, none above. */
export function pingTime(ms: number): string {
  if (ms >= 100) return String(Math.floor(ms));
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** C's %g (6 significant digits, no trailing zeros), as ping prints the loss percentage. */
export function percentG(x: number): string {
  return String(Number(x.toPrecision(6)));
}

export function transcript(p: ProbeLog): { stdout: string; stderr: string } {
  const lines = [p.family === 'ipv6' ? `PING ${p.address}(${p.address}) ${p.size} data bytes` : `PING ${p.address} (${p.address}) ${p.size}(${p.size + 28}) bytes of data.`];
  // Replies and errors in sequence order (ping prints them as they come; order is cosmetic).
  const events = [
    ...p.replies.map((r) => ({ seq: r.seq, line: `${p.size + 8} bytes from ${r.from}: icmp_seq=${r.seq} time=${pingTime(r.rttMs)} ms` })),
    ...p.errors.map((e) => ({ seq: e.seq, line: `From ${e.from} icmp_seq=${e.seq} ${e.text}` })),
  ].sort((a, b) => a.seq - b.seq);
  lines.push(...events.map((e) => e.line));
  const rx = p.replies.length;
  const loss = p.transmitted ? ((p.transmitted - rx) * 100) / p.transmitted : 0;
  lines.push('', `--- ${p.address} ping statistics ---`);
  lines.push(
    `${p.transmitted} packets transmitted, ${rx} received${p.duplicates ? `, +${p.duplicates} duplicates` : ''}${p.errors.length ? `, +${p.errors.length} errors` : ''}, ${percentG(loss)}% packet loss, time ${Math.round(p.elapsedMs)}ms`,
  );
  if (rx) {
    const t = p.replies.map((r) => r.rttMs);
    const avg = t.reduce((a, b) => a + b, 0) / rx;
    const mdev = Math.sqrt(Math.max(0, t.reduce((a, b) => a + b * b, 0) / rx - avg * avg));
    lines.push(`rtt min/avg/max/mdev = ${[Math.min(...t), avg, Math.max(...t), mdev].map((x) => x.toFixed(3)).join('/')} ms`);
  }
  return { stdout: `${lines.join('\n')}\n`, stderr: p.stderr.map((l) => `${l}\n`).join('') };
}
