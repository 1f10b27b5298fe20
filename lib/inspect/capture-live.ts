/**
 * `geneve-lab capture`: tcpdump in a node's namespace writing pcap to a pipe, read as it arrives.
 * Either the pcap goes on as is (`-w -`, for `| tshark -r -` / `| wireshark -k -i -`), or each
 * packet is decoded by the project's own decoder (lib/wire) and printed as one line, the fields the
 * TUI's packet view shows. Stops after --count packets, after --duration, on Ctrl-C/SIGTERM (the
 * caller's signal) or when the reader of our stdout goes away; tcpdump never outlives it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LabError, ExitCode, UsageError } from '../errors.js';
import type { Lab } from '../model/types.js';
import { decodeRecord, type DecodeOptions } from '../wire/decode.js';
import { summarizePacket } from '../engine/controller.js';
import type { DecodedPacketSummary } from '../ui/controller.js';
import { resolveLink, describeLinks } from '../checks/nodes.js';
import { captureInterface } from '../engine/controller.js';
import { PcapStream } from './pcap-stream.js';
import type { Invocation, NodeTarget } from './target.js';

export interface CaptureSpec {
  count?: number;
  durationS?: number;
  filter?: string;
}

/** Parse `NODE[:IFACE]`. */
export function parseCaptureWhere(arg: string): { node: string; iface?: string } {
  const i = arg.indexOf(':');
  if (i < 0) return { node: arg };
  const node = arg.slice(0, i);
  const iface = arg.slice(i + 1);
  if (!node || !iface) throw new UsageError(`"${arg}" is not NODE[:IFACE], e.g. host-1 or host-1:underlay`);
  return { node, iface };
}

/**
 * The kernel interface to capture on, in the node's namespace: the node's main interface by
 * default; a recipe name (network, tunnel, guest, switch) or an interface name the lab makes there;
 * `any`. An OVS tunnel port is no netdev: its packets are captured on the underlay (UDP only).
 */
export function captureTarget(lab: Lab, t: NodeTarget, iface: string | undefined): { ifname: string; filter?: string; note?: string } {
  if (iface === 'any') return { ifname: 'any' };
  if (iface === undefined) {
    if (!t.ifname) throw new UsageError(`${t.kind} "${t.name}" has no main interface; name one: ${t.name}:IFACE (${describeLinks(lab, t.name)})`);
    return { ifname: t.ifname };
  }
  // A tunnel of the node's host, kernel device or OVS port (an OVS port is not among the links).
  const end = t.kind === 'host' || t.kind === 'switch' ? lab.tunnels.find((x) => x.name === iface)?.ends.find((e) => e.host === t.host) : undefined;
  const ifname = end?.ifname ?? resolveLink(lab, t.name, iface);
  if (!ifname) throw new UsageError(`${t.kind} "${t.name}" has no interface "${iface}"; its interfaces: ${describeLinks(lab, t.name)} (or any)`);
  return t.kind === 'host' || t.kind === 'switch' ? captureInterface(lab, t.host, ifname) : { ifname };
}

/** tcpdump writing pcap to stdout, a packet at a time; `filter` is one argv element (never a shell's). */
export function tcpdumpArgv(ifname: string, o: CaptureSpec): string[] {
  return [
    'tcpdump',
    '-i', ifname,
    '-n',
    '-U', // each packet written as it arrives
    '--immediate-mode',
    '-Z', 'root', // Debian's tcpdump would drop to user "tcpdump"
    '-s', '0',
    '-w', '-',
    ...(o.count !== undefined ? ['-c', String(o.count)] : []),
    ...(o.filter ? [o.filter] : []),
  ];
}

/** Whether a program is on PATH (setpriv is util-linux: present almost everywhere, still optional). */
function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, bin)));
}

/**
 * A local tcpdump dies with us even after `kill -9` of geneve-lab (setpriv --pdeathsig): with no
 * packet to write it would never notice the broken pipe and stay behind.
 */
export function dieWithParent(inv: Invocation, available = onPath('setpriv')): Invocation {
  if (!available || inv.argv[0] === 'ssh') return inv;
  return { ...inv, argv: ['setpriv', '--pdeathsig', 'TERM', '--', ...inv.argv] };
}

export interface LiveCaptureOptions extends CaptureSpec {
  inv: Invocation;
  /** -w -: raw pcap to this stream instead of decoded lines. */
  pcapOut?: NodeJS.WritableStream;
  decode?: DecodeOptions;
  onPacket?: (p: DecodedPacketSummary) => void;
  /** tcpdump's own messages (listening on…, N packets captured). */
  onStderr?: (text: string) => void;
  /** Aborting it stops the capture (Ctrl-C, SIGTERM). */
  signal?: AbortSignal;
}

export interface LiveCaptureResult {
  packets: number;
  /** Why it ended: tcpdump finished (--count), the duration, a signal, or the reader went away. */
  ended: 'count' | 'duration' | 'signal' | 'reader-gone';
}

export function liveCapture(o: LiveCaptureOptions): Promise<LiveCaptureResult> {
  const [file, ...args] = o.inv.argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.inv.env } });
    let packets = 0;
    let ended: LiveCaptureResult['ended'] | undefined;
    let stderr = '';
    const stream = new PcapStream();
    let t0: number | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: NonNullable<typeof ended>) => {
      ended ??= why;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), 2000);
    };
    const timer = o.durationS !== undefined ? setTimeout(() => stop('duration'), o.durationS * 1000) : undefined;
    const onAbort = () => stop('signal');
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort);
    const onOutError = () => stop('reader-gone');
    o.pcapOut?.on('error', onOutError);

    child.stdout.on('data', (chunk: Buffer) => {
      if (o.pcapOut) {
        o.pcapOut.write(chunk);
        return;
      }
      try {
        for (const r of stream.push(chunk)) {
          packets++;
          t0 ??= r.timestamp;
          o.onPacket?.(summarizePacket(decodeRecord(r, o.decode), t0));
        }
      } catch (e) {
        stderr += `${(e as Error).message}\n`;
        stop('signal');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      o.onStderr?.(d.toString());
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      reject(e.code === 'ENOENT' ? new LabError(`${file} is not installed here; install it (capture needs tcpdump)`, ExitCode.missingPrerequisite) : e);
    });
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
      o.pcapOut?.off('error', onOutError);
    };
    child.on('close', (code, signal) => {
      cleanup();
      // -w -: count what tcpdump says it captured.
      const m = /(\d+) packets? captured/.exec(stderr);
      if (o.pcapOut && m) packets = Number(m[1]);
      if (ended === undefined && code !== 0) {
        const why = stderr
          .split('\n')
          .filter((l) => l && !/^listening on|packets (captured|received|dropped)/.test(l))
          .join(' / ');
        reject(new LabError(`capture failed: tcpdump exited with ${code ?? signal}${why ? `: ${why}` : ''}`, ExitCode.applyFailed, { code: 'operation_failed' }));
        return;
      }
      resolve({ packets, ended: ended ?? 'count' });
    });
  });
}
