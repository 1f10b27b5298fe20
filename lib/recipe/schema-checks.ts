/**
 * The recipe shape of the check kinds that look (issue 14): `state`, `counter`, `log`,
 * `transfer`, the probe knobs of ping/iperf/capture, and the vswitchd log gate of a host.
 *
 * schema.ts owns the building blocks (strict maps with located unknown-key errors, integer and
 * enum fields with their messages); it passes them in (`lookSchemas(kit)`) so the two modules do
 * not import each other. Cross-field rules live in semantic-checks.ts.
 */
import { z } from 'zod';
import type { bool, intIn, nameSchema, obj, oneOf, rate, show } from './schema.js';

/** The building blocks schema.ts lends (see there); type-only imports, so no import cycle. */
export interface SchemaKit {
  obj: typeof obj;
  intIn: typeof intIn;
  bool: typeof bool;
  oneOf: typeof oneOf;
  show: typeof show;
  nameSchema: typeof nameSchema;
  rate: typeof rate;
}

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*(B|k|kB|KiB|M|MB|MiB|G|GB|GiB)?\s*$/;
const SIZE_UNITS: Record<string, number> = { B: 1, k: 1e3, kB: 1e3, KiB: 1024, M: 1e6, MB: 1e6, MiB: 1024 ** 2, G: 1e9, GB: 1e9, GiB: 1024 ** 3 };
export const MAX_TRANSFER_BYTES = 1024 ** 3;

/** "1MiB" → 1048576, "64KiB", "1.5MB", 1000 → bytes; undefined when not a size. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const m = SIZE_RE.exec(v);
  if (!m) return undefined;
  const n = parseFloat(m[1]!) * SIZE_UNITS[m[2] ?? 'B']!;
  return Number.isInteger(n) ? n : Math.round(n);
}

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/;
/** "30s", "500ms", "2m", or a plain number of seconds → milliseconds. */
export function parseDurationMs(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
  const m = DURATION_RE.exec(v);
  if (!m) return undefined;
  return parseFloat(m[1]!) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

/** Step and check names referenced by during/since: any non-empty text (derived names have spaces). */
const refName = (what: string) => z.string({ error: (iss) => `${JSON.stringify(iss.input)} is not valid; ${what}` }).min(1, { error: `${what}` });

/** One string or a list of them, as a list. */
const strings = (what: string) =>
  z
    .union([z.string(), z.array(z.string())], { error: (iss) => `${JSON.stringify(iss.input)} is not valid; ${what} takes text or a list of texts` })
    .transform((v) => (Array.isArray(v) ? v : [v]));

/** A value or a matcher map; matcherProblem (lib/checks/expect.ts) validates maps in semantic-checks. */
const expectValue = z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown())], {
  error: (iss) => `${JSON.stringify(iss.input)} is not an expectation; write a value (5000, "text", true) or a matcher such as { min: 1 }`,
});

export function lookSchemas(k: SchemaKit) {
  const { obj, intIn, bool, oneOf, show, nameSchema } = k;
  const argWords = (what: string) =>
    z
      .array(z.union([z.string(), z.number()]).transform(String), { error: (iss) => `${show(iss.input)} is not valid; ${what} is a list of words, e.g. [link, show, dev, tun0]` })
      .min(1, { error: `${what} needs at least one word` });
  const text = {
    contains: strings('contains').optional().meta({ description: 'Text the output must contain (one or a list)' }),
    not_contains: strings('not_contains').optional().meta({ description: 'Text the output must not contain' }),
    matches: strings('matches').optional().meta({ description: 'Regular expressions (JavaScript syntax, multi-line) the output must match' }),
  };

  const state = obj(
    {
      on: nameSchema.meta({ description: 'Node the query runs in: a host, guest or switch (a switch means its host; ovs queries go to its OVS)' }),
      ip: argWords('ip').optional().meta({ description: 'Words after `ip -d -j`, read-only: [link, show, dev, tun0], [route, get, 203.0.113.2], [-6, addr, show]' }),
      ovs: argWords('ovs').optional().meta({ description: 'A read-only OVS query: [appctl, dpctl/dump-flows], [ofctl, dump-flows, sw1], [vsctl, get, Interface, tun0, options]' }),
      where: z.record(z.string(), expectValue).optional().meta({ description: 'ip: keep the list entries whose fields match (JSON path → value or matcher)' }),
      expect: z.record(z.string(), expectValue).optional().meta({ description: 'ip: JSON path → value or matcher ({min, max, equals, exists, matches, one_of, unchanged_since, changed_since})' }),
      count: z.union([z.number(), z.string(), z.record(z.string(), z.unknown())]).optional().meta({ description: 'ip: number of entries (value or matcher); ovs: { pattern: REGEX, equals|min|max: N } — lines matching the pattern' }),
      ...text,
    },
    'A read-only query (ip JSON or OVS text) and assertions on its result',
  );

  const counter = obj(
    {
      on: nameSchema.meta({ description: 'Node whose counter is read (host, guest or switch)' }),
      link: z.string().min(1).optional().meta({ description: 'A link in the node\'s namespace: an interface name, or a tunnel, network, guest or switch name of the recipe' }),
      ovs_port: z.string().min(1).optional().meta({ description: 'An OVS port of the switch `on` names (a tunnel, guest or port name): live ovs-ofctl dump-ports' }),
      ovs_flow: z.string().min(1).optional().meta({ description: 'OpenFlow flows of the switch `on` names that match this specification, at its priority if given ("priority=50,in_port=tun0"): their n_packets / n_bytes (ovs-ofctl dump-flows)' }),
      tc: obj({
        dev: z.string().min(1),
        direction: oneOf(['ingress', 'egress'], 'tc direction'),
        pref: intIn(1, 65535, 'filter preference').optional(),
      }).optional().meta({ description: 'Hits of the tc filters on a device (their actions\' statistics)' }),
      nft: obj({
        match: z.string({ error: (iss) => `${show(iss.input)} is not valid; match is an nftables match in quotes, e.g. "udp dport 6081 meta length > 600"` }).min(1),
        hook: oneOf(['prerouting', 'input', 'forward', 'output', 'postrouting'], 'nftables hook').optional(),
      }).optional().meta({ description: 'A counter rule geneve-lab installs at up in its own nftables table (inet family, priority -300)' }),
      field: z.string({ error: (iss) => `${show(iss.input)} is not valid; field names a counter, e.g. rx_frame_errors, tx_packets, packets` }).min(1),
      min: z.number().optional(),
      max: z.number().optional(),
      equals: z.number().optional(),
      during: refName('during names a check whose run is measured').optional(),
      since: refName('since names an earlier step').optional(),
    },
    'Before/after delta of one counter: over a check (during) or since a step',
  );

  const log = obj(
    {
      on: nameSchema.meta({ description: 'Host (or switch) whose ovs-vswitchd log is read' }),
      must: strings('must').optional().meta({ description: 'Regexes each of which some log line must match' }),
      must_not: strings('must_not').optional().meta({ description: 'Regexes no log line may match' }),
      gate: bool('gate').optional().meta({ description: 'Fail on any WARN/ERR/EMER line not allowed (default: true when neither must nor must_not is given)' }),
      allow: strings('allow').optional().meta({ description: 'With gate: regexes of WARN/ERR lines that are fine, besides the defaults' }),
      during: refName('during names a check whose run is looked at').optional(),
      since: refName('since names an earlier step').optional(),
      file: z.string().regex(/^\//, { error: 'file is an absolute path on the host' }).optional().meta({ description: 'SSH hosts: the service\'s log file (default /var/log/openvswitch/ovs-vswitchd.log)' }),
    },
    'Assertions on ovs-vswitchd\'s log',
  );

  const size = z
    .union([z.number(), z.string()], { error: (iss) => `${show(iss.input)} is not a size; use e.g. 1MiB, 64KiB, 1000` })
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === undefined || n < 1 || n > MAX_TRANSFER_BYTES) {
        ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid size; use 1 byte to 1GiB, e.g. 1MiB, 64KiB, 1000 (KiB/MiB/GiB are powers of 1024, k/M/G of 1000)` });
        return z.NEVER;
      }
      return n;
    })
    .meta({ description: 'Bytes: 1MiB, 64KiB, 1.5MB, 1000' });
  const duration = z
    .union([z.number(), z.string()], { error: (iss) => `${show(iss.input)} is not a duration; use e.g. 30s, 500ms, 2m` })
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined || ms > 3_600_000) {
        ctx.addIssue({ code: 'custom', message: `${show(v)} is not a valid duration; use e.g. 30s, 500ms, 2m (at most 1 hour; a plain number is seconds)` });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: 'Duration: 30s, 500ms, 2m (a plain number is seconds)' });

  const transfer = obj(
    {
      from: z.union([nameSchema, z.array(nameSchema).min(1)], { error: (iss) => `${show(iss.input)} is not valid; use a name or a list of names` }),
      to: z.union([z.string(), z.array(z.string()).min(1)], { error: (iss) => `${show(iss.input)} is not valid; use a name, an address, or a list of them` }),
      family: oneOf(['ipv4', 'ipv6'], 'address family').optional(),
      protocol: oneOf(['tcp', 'udp'], 'protocol').optional(),
      bytes: size.optional(),
      seed: intIn(0, 0xffffffff, 'seed').optional().meta({ description: 'Seed of the random payload (same seed, same bytes)' }),
      timeout: duration.optional(),
      port: intIn(1, 65535, 'port').optional(),
      chunk: intIn(64, 65000, 'UDP datagram payload').optional().meta({ description: 'UDP: payload bytes per datagram (default 1200)' }),
      rate: k.rate.optional().meta({ description: 'UDP: pacing, e.g. 50Mbit (default)' }),
      expect: oneOf(['delivered', 'undelivered'], 'expectation').optional(),
    },
    'Send N random bytes (seeded) from a node to a node; the receiver checks length and SHA-256',
  );

  /** ping's probe knobs. */
  const pingKnobs = {
    tos: intIn(0, 255, 'TOS byte (ping -Q)').optional().meta({ description: 'IPv4 TOS / IPv6 traffic class of the probes (ping -Q), e.g. 0x28' }),
    ttl: intIn(1, 255, 'TTL (ping -t)').optional().meta({ description: 'IPv4 TTL / IPv6 hop limit of the probes (ping -t)' }),
    pmtu: oneOf(['want', 'do', 'dont'], 'pmtu strategy (ping -M)').optional().meta({ description: 'Path MTU discovery: do (DF, never fragment), want, dont (ping -M); replaces df' }),
    interface: z.string().min(1).optional().meta({ description: 'Send from this interface of the `from` node (ping -I IFNAME)' }),
    source: z.string().min(1).optional().meta({ description: 'Send from this address of the `from` node (ping -I ADDRESS)' }),
  };
  /** iperf's knob. */
  const iperfKnobs = {
    min_ratio: z
      .number({ error: (iss) => `${show(iss.input)} is not valid; min_ratio is a fraction 0..1, e.g. 0.5` })
      .gt(0, { error: 'min_ratio must be above 0' })
      .max(1, { error: 'min_ratio is a fraction of the underlay baseline, at most 1' })
      .optional()
      .meta({ description: 'Pass at ≥ this fraction of the throughput measured on the bare underlay between the same hosts in the same run' }),
  };
  /** capture's knobs. */
  const captureKnobs = {
    match: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown()), z.array(z.unknown())])).optional().meta({ description: 'Capture keys selecting the packets judged, e.g. { inner.ethertype: arp }' }),
    packets: oneOf(['any', 'all', 'first'], 'packets mode').optional().meta({ description: 'any: ≥ at_least selected packets match expect; all: every one; first: the first one' }),
  };
  /** hosts[].ovs.log: the default vswitchd log gate of that host's OVS. */
  const hostLogGate = obj(
    {
      gate: bool('gate').optional().meta({ description: 'Fail the run when vswitchd logged a WARN/ERR line not allowed (default: on for simulated hosts, off for SSH hosts)' }),
      allow: strings('allow').optional().meta({ description: 'Regexes of WARN/ERR lines that are fine on this host, besides the defaults' }),
    },
    'The vswitchd log gate of this host',
  );
  return { state, counter, log, transfer, pingKnobs, iperfKnobs, captureKnobs, hostLogGate };
}

export type LookSchemas = ReturnType<typeof lookSchemas>;
export type RawState = z.output<LookSchemas['state']>;
export type RawCounter = z.output<LookSchemas['counter']>;
export type RawLog = z.output<LookSchemas['log']>;
export type RawTransfer = z.output<LookSchemas['transfer']>;
export type RawHostLogGate = z.output<LookSchemas['hostLogGate']>;
