/**
 * `up` waits, per host, until ovs-monitor-ipsec has taken in every OVS port the lab gave a
 * pre-shared key, and only then brings SAs up (await.ts).
 *
 * Why: whenever the monitor refreshes strongSwan's configuration (a port with a PSK appeared or
 * changed) it takes down every active SA of the host's Geneve and VXLAN tunnels. OVS 3.x's
 * strongSwan helper reads the connection "gnv4-in-1{3}" of `ipsec status` as belonging to an
 * interface "gnv4-in", finds no such tunnel and calls the SA outdated (`ipsec stroke down-nb`);
 * the same misreading is why its `tunnels/show` lists no active connection (openvswitch/ovs-issues
 * #355). In the VM tier a recipe with two such tunnels on one host had the first tunnel's SAs
 * established by `up`, then torn down and renegotiated while the monitor configured the second
 * port — during the checks, as lost pings. The SAs come back by themselves (trap policies), so
 * what the lab must not do is call them up before the last refresh.
 *
 * The monitor answers its control socket from the same loop that reads the database and
 * refreshes: once `tunnels/show` lists a port as CONFIGURED, the refresh that took it in is over.
 */
import { inNetns } from '../exec/executor.js';
import type { AwaitTarget } from './await.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MonitorTunnel {
  port: string;
  version: number;
  /** CONFIGURED, INVALID…, REMOVED, … as the monitor prints it. */
  state: string;
}

/** The tunnels of `ovs-appctl -t ovs-monitor-ipsec tunnels/show` ("Interface name: gnv4 v1 (CONFIGURED)"). Pure. */
export function parseMonitorTunnels(text: string): MonitorTunnel[] {
  const out: MonitorTunnel[] = [];
  for (const m of text.matchAll(/^Interface name: (\S+) v(\d+) \(([^)]*)\)/gm)) out.push({ port: m[1]!, version: Number(m[2]), state: m[3]! });
  return out;
}

export interface MonitorOutcome {
  configured: boolean;
  ms: number;
  /** Why not, when not: the ports still missing or not CONFIGURED, or why the monitor could not be asked. */
  reason?: string;
}

/** `tunnels/show` of the host's monitor: the lab's finds its control socket through OVS_RUNDIR (its ipsecDir), a machine's own service at the default. */
export function monitorShowArgv(t: Pick<AwaitTarget, 'ns' | 'ipsecDir'>): string[] {
  return inNetns(t.ns || undefined, [...(t.ipsecDir ? ['env', `OVS_RUNDIR=${t.ipsecDir}`] : []), 'ovs-appctl', '-t', 'ovs-monitor-ipsec', 'tunnels/show']);
}

/** Wait until the monitor lists every port in `ports` as CONFIGURED (it never throws: the outcome says). */
export async function awaitMonitor(t: AwaitTarget, ports: string[], timeoutMs: number, now = () => Date.now(), pause = sleep): Promise<MonitorOutcome> {
  const argv = monitorShowArgv(t);
  const t0 = now();
  let reason = '';
  for (;;) {
    const r = await t.exec.run(argv, { timeoutMs: 15_000 });
    if (r.exitCode === 0) {
      const seen = new Map(parseMonitorTunnels(r.stdout).map((x) => [x.port, x]));
      const pending = ports.filter((p) => seen.get(p)?.state !== 'CONFIGURED');
      if (!pending.length) return { configured: true, ms: now() - t0 };
      reason = pending.map((p) => (seen.has(p) ? `port "${p}" is ${seen.get(p)!.state}` : `port "${p}" not taken in yet`)).join('; ');
    } else {
      // Not a state that passes: the monitor is not there to ask (not running, another run directory).
      return { configured: false, ms: now() - t0, reason: `ovs-appctl -t ovs-monitor-ipsec tunnels/show: ${r.stderr.trim() || `exit ${r.exitCode}`}` };
    }
    if (now() - t0 >= timeoutMs) return { configured: false, ms: now() - t0, reason };
    await pause(250);
  }
}
