/**
 * `packet_out: { switch, in_port, packet, actions }` — hand a packet to an OVS bridge as if it had
 * arrived on `in_port`, with `ovs-ofctl packet-out BRIDGE IN_PORT ACTIONS PACKET` (ports by their
 * real names; resolve-steps.ts mapped the recipe's).
 */
import type { CheckResult } from '../../checks/result.js';
import { shellQuote } from '../../exec/executor.js';
import type { PacketOutStep } from '../../model/scenario.js';
import { bridgeOfctlArgs } from '../../model/ovs-program.js';
import type { ScenarioContext } from '../context.js';
import { commandRaw, tail } from './exec.js';

export function packetOutWhat(s: PacketOutStep): string {
  return `packet-out of ${s.packet.length / 2} B on switch "${s.switch}" from ${s.inPort}: ${s.actions}`;
}

export async function runPacketOut(s: PacketOutStep, ctx: ScenarioContext): Promise<CheckResult> {
  const started = Date.now();
  const ovs = ctx.ovs(s.host);
  const version = bridgeOfctlArgs(ctx.lab.switches, s.bridge);
  const argv = ovs.argv('ofctl', [...version, 'packet-out', s.bridge, s.inPort, s.actions, s.packet]);
  const r = await ovs.exec.run(argv, { env: ovs.env, timeoutMs: 30_000 });
  const base = { name: s.name, kind: s.kind, what: packetOutWhat(s), durationMs: Date.now() - started, raw: commandRaw(argv, r), figures: { bytes: s.packet.length / 2 } };
  if (r.exitCode === 0) return { ...base, status: 'passed' };
  return { ...base, status: r.spawnError ? 'error' : 'failed', message: `${shellQuote(argv.slice(0, 2))} packet-out on bridge "${s.bridge}" failed (exit ${r.exitCode}): ${tail(r.stderr) || 'no message'}` };
}
