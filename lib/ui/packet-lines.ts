/**
 * A decoded packet as text: the TUI's packet view (several lines a packet) and `geneve-lab
 * capture` (one line a packet) print the same fields. Pure: no ink here, so the CLI can use it.
 */
import type { DecodedPacketSummary } from './controller.js';

/** The lines of one decoded packet: the outer packet, then Geneve fields and the inner packet. */
export function packetLines(p: DecodedPacketSummary): string[] {
  const head = `${p.no} ${p.time.toFixed(3)}s ${p.src} → ${p.dst} ${p.protocol} ${p.length} B`;
  const out = [head];
  if (p.geneve) {
    const g = p.geneve;
    const opts = g.options.map((o) => `${o.class.toString(16).padStart(4, '0')}:${o.type.toString(16).padStart(2, '0')}${o.critical ? '(C)' : ''}=${o.data}`);
    out.push(
      `   geneve vni ${g.vni}${g.protocolType !== undefined ? ` proto 0x${g.protocolType.toString(16)}` : ''}${g.oam ? ' OAM' : ''}${g.critical ? ' C' : ''}` +
        `${g.dstPort !== undefined ? ` port ${g.dstPort}` : ''}${opts.length ? ' opts ' + opts.join(' ') : ''}`,
    );
  }
  if (p.inner) out.push(`   inner ${p.inner.src} → ${p.inner.dst} ${p.inner.protocol}`);
  if (p.info) out.push(`   ${p.info}`);
  return out;
}

/** The same fields on a single line (the live `capture` view): parts joined by " | ". */
export function packetLine(p: DecodedPacketSummary): string {
  return packetLines(p)
    .map((l) => l.trim())
    .join(' | ');
}
