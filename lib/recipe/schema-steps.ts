/**
 * The raw shape of `steps:` (docs/design/scenarios.md §1): each item has exactly one kind key —
 * any check kind, `checks:` (a group run concurrently) or an action — plus an optional name.
 * Cross-field rules (references, names, since/during) live in semantic-steps.ts.
 *
 * schema.ts and this module import each other (a step holds checks, the recipe holds steps), so
 * everything that touches schema.ts's values is built inside `stepSchemaFor`, which schema.ts
 * calls once its own values exist; nothing here runs at import time.
 */
import { z } from 'zod';
import { matcherProblem } from '../checks/expect.js';
import { ACTION_KINDS, GROUP_ACTION_KINDS } from '../model/scenario.js';
import { hexProblem } from '../scenario/hex.js';
import { MAX_STEP_DURATION_MS, parseDuration } from '../scenario/duration.js';
import { CHECK_KINDS, intIn, nameSchema, obj, oneOf, show } from './schema.js';

/** A duration with a unit: 500ms, 1s, 2m (a bare number is refused: seconds or milliseconds?). */
function duration(what: string, minMs = 0) {
  const msg = (v: unknown) => `${show(v)} is not a valid ${what}; write a number with a unit: 500ms, 1s, 1.5s, 2m${minMs ? ` (at least ${minMs} ms)` : ''}, up to 1h`;
  return z
    .union([z.string(), z.number()], { error: (iss) => msg(iss.input) })
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms < minMs || ms > MAX_STEP_DURATION_MS) {
        ctx.addIssue({ code: 'custom', message: typeof v === 'number' ? `${v} has no unit; write ${v}s or ${v}ms (a ${what} needs a unit)` : msg(v) });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: `${what[0]!.toUpperCase()}${what.slice(1)}: a number with a unit, e.g. 500ms, 1s, 2m` });
}

/** Command-line words; numbers and booleans are taken as written ([ip, link, set, eth0, mtu, 1400], [true]). */
function argv(what: string) {
  return z
    .array(z.union([z.string(), z.number(), z.boolean()], { error: (iss) => `${show(iss.input)} is not valid in ${what}; each word is text or a number` }), {
      error: (iss) => `${show(iss.input)} is not valid; ${what} is a list of words, e.g. [ip, link, show]`,
    })
    .min(1, { error: `${what} needs at least one word` })
    .transform((a) => a.map(String));
}

function hexText(what: string, minBytes: number) {
  return z.string({ error: (iss) => `${show(iss.input)} is not valid; write the ${what} as hex bytes in quotes, e.g. "ffffffffffff 020000000001 0800 …"` }).superRefine((v, ctx) => {
    const p = hexProblem(v, what);
    if (p) return ctx.addIssue({ code: 'custom', message: p.message });
    const bytes = v.replace(/\s+/g, '').length / 2;
    if (bytes < minBytes) ctx.addIssue({ code: 'custom', message: `the ${what} is ${bytes} bytes; it needs at least ${minBytes} (an Ethernet header: destination MAC, source MAC, EtherType)` });
    else if (bytes > 65535) ctx.addIssue({ code: 'custom', message: `the ${what} is ${bytes} bytes; at most 65535` });
  });
}

/** An expected value as expect.ts reads it: a scalar, or a matcher map ({ contains: "x" }, { min: 1 }). */
function matcher() {
  return z
    .union([z.string(), z.number(), z.boolean(), z.record(z.string(), z.unknown())], {
      error: (iss) => `${show(iss.input)} is not an expected value; use text, a number, or a matcher such as { contains: "text" } or { matches: "regex" }`,
    })
    .superRefine((v, ctx) => {
      const p = matcherProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    })
    .meta({ description: 'Expected value: a scalar (equal), or a matcher map: equals, min, max, exists, matches, contains, not_contains, one_of' });
}

const OFFLOAD_WORDS = ['on', 'off'] as const;

/** The step item schema, built around the recipe's check schema (see the module comment). */
export function stepSchemaFor<S extends z.ZodObject>(checkSchema: S) {
  const checkShape = checkSchema.shape as z.core.$ZodLooseShape;
  const exec = obj(
    {
      on: nameSchema.meta({ description: 'Node whose namespace runs the command: a host, guest or switch (its host)' }),
      argv: argv('argv'),
      expect_exit: intIn(0, 255, 'exit code').optional().meta({ description: 'Expected exit code (default 0)' }),
      stdout: matcher().optional(),
      stderr: matcher().optional(),
      timeout: duration('timeout', 100).optional(),
    },
    'Run a command (argv, no shell) in a lab node and assert its exit code and output',
  );
  const ovs = obj(
    {
      on: nameSchema.meta({ description: 'An OVS switch (its OVS instance and bridge), or a host running OVS' }),
      vsctl: argv('vsctl').optional().meta({ description: 'ovs-vsctl arguments (the database is implied)' }),
      ofctl: argv('ofctl').optional().meta({ description: 'ovs-ofctl command and arguments; the bridge is inserted after the command word' }),
      appctl: argv('appctl').optional().meta({ description: 'ovs-appctl command (to this host\'s ovs-vswitchd)' }),
      expect_exit: intIn(0, 255, 'exit code').optional().meta({ description: 'Expected exit code (default 0)' }),
      stdout: matcher().optional().meta({ description: 'Expected output (text or matcher), e.g. { contains: "actions=drop" }' }),
    },
    'One ovs-vsctl, ovs-ofctl or ovs-appctl command against the switch\'s own OVS instance; recipe port names are resolved',
  ).superRefine((o, ctx) => {
    const tools = (['vsctl', 'ofctl', 'appctl'] as const).filter((k) => o[k] !== undefined);
    if (tools.length !== 1)
      ctx.addIssue({ code: 'custom', message: tools.length ? `an ovs step runs one tool, found ${tools.join(' and ')}; split it into steps` : 'say which tool: vsctl: [...], ofctl: [...] or appctl: [...]' });
  });
  const restart = obj(
    {
      ovs: nameSchema.meta({ description: 'Host whose ovs-vswitchd is restarted' }),
      timeout: duration('timeout', 1000).optional().meta({ description: 'How long to wait until it is ready again (default 30s)' }),
    },
    'Stop a host\'s ovs-vswitchd and start it again on the same database; waits until it is ready',
  );
  const set = obj(
    {
      tunnel: nameSchema.optional(),
      end: nameSchema.optional().meta({ description: 'With tunnel: the end (a name from its between); default both ends' }),
      guest: nameSchema.optional(),
      host: nameSchema.optional(),
      interface: z.string().optional().meta({ description: 'With host: its underlay interface (network name or interface name)' }),
      switch: nameSchema.optional(),
      mtu: intIn(68, 65535, 'MTU').optional(),
      offloads: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_-]*$/, { error: (iss) => `${show(iss.input)} is not an ethtool feature name; e.g. tso, gso, gro, tx, tx-udp_tnl-segmentation` }),
          z.union([z.boolean(), z.enum(OFFLOAD_WORDS)], { error: (iss) => `${show(iss.input)} is not valid for an offload; use on/off or true/false` }),
        )
        .optional()
        .meta({ description: 'ethtool -K features: { tso: off, gro: on }' }),
      vni: intIn(0, 0xffffff, 'VNI (24 bits)').optional(),
      dstport: intIn(1, 65535, 'UDP port').optional(),
      ttl: z
        .union([intIn(0, 255, 'ttl'), z.literal('inherit')], { error: (iss) => `${show(iss.input)} is not a valid ttl; use 0..255 or inherit` })
        .optional(),
      tos: z.union([intIn(0, 255, 'tos', true), z.literal('inherit')], { error: (iss) => `${show(iss.input)} is not a valid tos; use 0..255 or inherit` }).optional(),
      df: oneOf(['unset', 'set', 'inherit'], 'df mode').optional(),
    },
    'Change a parameter of the running lab: a tunnel end (mtu, vni, dstport, ttl, tos, df, offloads), a guest NIC, a host interface or a switch (mtu, offloads)',
  );
  const wait = obj(
    {
      until: checkSchema,
      timeout: duration('timeout', 100).optional().meta({ description: 'Give up after this long (default 30s)' }),
      every: duration('interval', 10).optional().meta({ description: 'Time between attempts (default 1s)' }),
    },
    'Retry one check until it passes (the OVS tests\' OVS_WAIT_UNTIL); the result is the last attempt\'s',
  );
  const inject = obj(
    {
      on: nameSchema.meta({ description: 'Node whose namespace sends the frames: a guest, host or switch (its host)' }),
      interface: z.string().optional().meta({ description: 'Interface the frames leave from (default: the guest\'s NIC, the host\'s only underlay interface)' }),
      frame: hexText('frame', 14).meta({ description: 'The whole Ethernet frame in hex (no FCS); spaces and newlines are ignored' }),
      count: intIn(1, 100000, 'frame count').optional(),
      interval: duration('interval').optional().meta({ description: 'Pause between frames (default none)' }),
    },
    'Send raw Ethernet frames from a packet socket in a lab node',
  );
  const packetOut = obj(
    {
      switch: nameSchema,
      in_port: z
        .union([z.string(), z.int().min(0)], { error: (iss) => `${show(iss.input)} is not a port; use a port name of the switch, a number, or LOCAL/CONTROLLER/NONE` })
        .optional()
        .meta({ description: 'Port the packet is treated as coming from (default LOCAL)' }),
      packet: hexText('packet', 14),
      actions: z.string({ error: (iss) => `${show(iss.input)} is not valid; write OpenFlow actions, e.g. "output:tun0"` }).min(1),
    },
    'Hand a packet to an OVS bridge with ovs-ofctl packet-out',
  );
  const actions = {
    exec: exec.optional(),
    ovs: ovs.optional(),
    restart: restart.optional(),
    set: set.optional(),
    sleep: duration('sleep').optional().meta({ description: 'Pause: 500ms, 1s, 2m' }),
    inject: inject.optional(),
    packet_out: packetOut.optional(),
  };
  /** Exactly one kind among `kinds`; "then" with impair and only with it. */
  const oneKind = (kinds: readonly string[], what: string, choices: string) => (s: object, ctx: z.RefinementCtx) => {
    const rec = s as Record<string, unknown>;
    const found = kinds.filter((k) => rec[k] !== undefined);
    if (found.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: found.length ? `${what} has exactly one kind, found ${found.join(' and ')}; split it into separate ${what === 'a step' ? 'steps' : 'items'}` : `${what} needs exactly one kind: ${choices}`,
      });
      return;
    }
    if (rec.impair !== undefined && !(rec.then as unknown[] | undefined)?.length)
      ctx.addIssue({ code: 'custom', path: ['impair'], message: 'an impair step needs "then": the checks to run while the impairment is on' });
    else if (rec.impair === undefined && rec.then !== undefined)
      ctx.addIssue({ code: 'custom', path: ['then'], message: `"then" belongs to an impair step; this is a ${found[0]} ${what === 'a step' ? 'step' : 'item'} — remove "then" or make it an impair step` });
  };
  // A group item: a check, or an action a capture/counter/log of the group can measure around
  // (`during: NAME`). Not `wait` (a retry loop) and not another group.
  const groupItem = obj(
    { ...checkShape, name: nameSchema.optional(), ...actions },
    `One item of a checks group: a check, or an action (${GROUP_ACTION_KINDS.join(', ')}) that the group's captures, counters and logs can measure with during: NAME`,
  ).superRefine(oneKind([...CHECK_KINDS, ...GROUP_ACTION_KINDS], 'a group item', `a check (${CHECK_KINDS.join(', ')}) or an action (${GROUP_ACTION_KINDS.join(', ')})`));
  const kinds = [...CHECK_KINDS, 'checks', ...ACTION_KINDS] as const;
  return obj(
    {
      ...checkShape,
      name: nameSchema.optional(),
      checks: z
        .array(groupItem, { error: (iss) => `${show(iss.input)} is not valid; "checks" in a step is a list of checks (and actions) run together` })
        .min(1, { error: 'a checks group needs at least one check' })
        .optional()
        .meta({ description: 'A group: these checks run together, like the top-level checks list; actions in it (inject, packet_out, exec…) can be measured by its captures, counters and logs (during: NAME)' }),
      ...actions,
      wait: wait.optional(),
    },
    'One step: exactly one check kind, a checks group, or an action (exec, ovs, restart, set, wait, sleep, inject, packet_out), plus an optional name',
  ).superRefine(oneKind(kinds, 'a step', `a check (${CHECK_KINDS.join(', ')}), checks (a group) or an action (${ACTION_KINDS.join(', ')})`));
}

/** Offload values as written (on/off/true/false) → booleans. */
export function offloadValue(v: boolean | 'on' | 'off'): boolean {
  return v === true || v === 'on';
}
