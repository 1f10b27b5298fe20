/**
 * The contract between the TUI and the engine. The app calls these methods in response to
 * keys and renders the events that come back on `bus`; the engine implements it. The UI holds
 * no lab logic: every decision and system call is behind this interface.
 *
 * Errors: any method may reject (typically with a LabError); the app shows the message in its
 * status line and keeps running — it never writes a raw error or stack over the screen.
 */
import type { EventBus } from '../engine/events.js';
import type { Lab } from '../model/types.js';
import type { CounterSample } from '../stats/linkstats.js';
import type { WatchTarget } from '../stats/targets.js';

export type { CounterSample } from '../stats/linkstats.js';
export type { WatchTarget } from '../stats/targets.js';

/** One Geneve option as decoded from the wire. */
export interface DecodedOption {
  class: number;
  type: number;
  critical: boolean;
  /** Hex, no 0x. */
  data: string;
}

/** One captured packet, decoded enough for a one-line view (tshark fields or our own decoder). */
export interface DecodedPacketSummary {
  /** 1-based frame number in the capture. */
  no: number;
  /** Seconds since the first packet. */
  time: number;
  length: number;
  /** Outer addresses and protocol as seen on the captured interface. */
  src: string;
  dst: string;
  protocol: string; // e.g. "GENEVE", "ICMP", "UDP"
  /** Present when the packet is Geneve-encapsulated. */
  geneve?: {
    vni: number;
    /** Inner protocol type, e.g. 0x6558 (Ethernet). */
    protocolType?: number;
    oam?: boolean;
    critical?: boolean;
    options: DecodedOption[];
    srcPort?: number;
    dstPort?: number;
  };
  /** Inner packet, when decoded. */
  inner?: { src: string; dst: string; protocol: string };
  /** The decoder's own one-line description (e.g. tshark's Info column). */
  info: string;
}

export interface CaptureOptions {
  /** Stop after this many packets (default: a few, e.g. 5). */
  count?: number;
  timeoutMs?: number;
}

export interface CounterOptions {
  /** Refresh interval, about a second by default. */
  intervalMs?: number;
}

export interface Controller {
  readonly lab: Lab;
  readonly bus: EventBus;
  /** Build the lab; progress arrives as step events. Rejects (after rollback) when a step fails. */
  up(): Promise<void>;
  /** Tear the lab down; progress arrives as undo events. */
  down(): Promise<void>;
  /** Run every check of the recipe; results arrive as check events. Resolves even when checks fail. */
  runChecks(): Promise<void>;
  /** Run one check again by name. */
  rerunCheck(name: string): Promise<void>;
  /** Capture a few packets on an interface of a host and decode them. */
  capture(host: string, ifname: string, opts?: CaptureOptions): Promise<DecodedPacketSummary[]>;
  /** Everything logged for one step (argv or request, stdout, stderr, timings); [] when unknown. */
  stepLog(stepId: number): string[];
  /** Interfaces whose counters are sampled (and that can be captured on). */
  watchTargets(): WatchTarget[];
  /**
   * Subscribe to live counters (~1 s). `onSample` receives the rates of every watched link;
   * `onError` receives read failures (e.g. the lab is down), which the UI shows quietly.
   * Returns the unsubscribe function.
   */
  counters(onSample: (samples: CounterSample[]) => void, onError?: (err: Error) => void, opts?: CounterOptions): () => void;
}
