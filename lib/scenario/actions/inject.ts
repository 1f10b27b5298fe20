/**
 * `inject: { on: NODE, interface: IF, frame: "<hex>", count: N, interval: 10ms }` — raw Ethernet
 * frames sent from a packet socket in the node's namespace (packet-socket.ts), exactly as written.
 * The step passes when every frame was handed to the interface; what the receiver makes of them is
 * for the following steps to check (capture, counters, logs).
 */
import type { CheckResult } from '../../checks/result.js';
import type { InjectStep } from '../../model/scenario.js';
import { showDuration } from '../duration.js';
import type { ScenarioContext } from '../context.js';
import { openPacketSocket } from '../packet-socket.js';
import { pause } from './sleep.js';

export function injectWhat(s: InjectStep): string {
  return `${s.count} × ${s.frame.length / 2} B raw frame${s.count === 1 ? '' : 's'} out of ${s.ifname} in ${s.on}${s.intervalMs ? ` every ${showDuration(s.intervalMs)}` : ''}`;
}

export async function runInject(s: InjectStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const frame = Buffer.from(s.frame, 'hex');
  const base = { name: s.name, kind: s.kind, what: injectWhat(s) };
  let sent = 0;
  const sock = openPacketSocket(s.ns, s.ifname);
  try {
    for (let i = 0; i < s.count; i++) {
      if (i > 0 && s.intervalMs && !(await pause(s.intervalMs, ctx.signal))) break;
      sock.send(frame);
      sent++;
    }
  } catch (e) {
    return { ...base, status: 'error', message: `${(e as Error).message} (after ${sent} of ${s.count} frames)`, figures: { sent, bytes: frame.length }, durationMs: Date.now() - started };
  } finally {
    sock.close();
  }
  const figures = { sent, bytes: frame.length };
  const raw = `frame (${frame.length} bytes) sent ${sent} time(s) on ${s.ifname} in netns ${s.ns}:\n${s.frame.replace(/(.{32})/g, '$1\n')}\n`;
  if (sent < s.count) return { ...base, status: 'error', message: `cancelled after ${sent} of ${s.count} frames`, figures, durationMs: Date.now() - started, raw };
  return { ...base, status: 'passed', figures, durationMs: Date.now() - started, raw };
}
