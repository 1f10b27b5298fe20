/**
 * The recipe's `ovn:` section and the `ovn` check kind, as zod schemas (see docs/recipes.md,
 * "OVN"). Cross-field rules (references to hosts, guests, logical objects) are in
 * semantic-ovn.ts; turning them into the model is resolve-ovn.ts.
 *
 * Built lazily: schema.ts imports this module and this module uses schema.ts's helpers, so the
 * schemas are made on first use, once both modules are loaded.
 */
import { z } from 'zod';
import { cidr, intIn, nameSchema, obj, show } from './schema.js';
import { matcherProblem } from '../checks/expect.js';
import { isTableCommand, queryProblem } from '../ovn/readonly.js';

/** OVN object names: what ovn-nbctl takes as a record name (no blanks or quotes). */
const OVN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ovnName = (what: string) =>
  z
    .string({ error: (iss) => `${show(iss.input)} is not a valid ${what} name; use letters, digits, "_", ".", ":" and "-" (at most 64)` })
    .regex(OVN_NAME_RE, { error: (iss) => `${show(iss.input)} is not a valid ${what} name; use letters, digits, "_", ".", ":" and "-", starting with a letter or digit (at most 64)` });

const mac = z
  .string({ error: (iss) => `${show(iss.input)} is not a MAC address; use e.g. 02:00:00:00:01:01 (quote it)` })
  .superRefine((v, ctx) => {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) ctx.addIssue({ code: 'custom', message: `${show(v)} is not a MAC address; use six hex pairs like 02:00:00:00:01:01` });
    else if (parseInt(v.slice(0, 2), 16) & 1) ctx.addIssue({ code: 'custom', message: `${show(v)} is a multicast MAC; a router port needs a unicast one (first byte even)` });
  });

const argv = (what: string) =>
  z
    .array(z.string({ error: (iss) => `${show(iss.input)} is not valid; each word of the command is a string (quote numbers)` }), {
      error: (iss) => `${show(iss.input)} is not valid; ${what} is a command as a list of words, e.g. [find, Port_Binding, logical_port=vm1]`,
    })
    .min(1, { error: `${what} needs at least one word (the command)` });

function build() {
  const switchPort = z.union(
    [
      ovnName('logical port'),
      obj({
        name: ovnName('logical port').optional().meta({ description: 'Logical switch port name; default: the guest\'s name' }),
        guest: nameSchema.optional().meta({ description: 'Guest bound to the port (external_ids:iface-id on its OVS port)' }),
        addresses: z
          .array(z.string().min(1))
          .optional()
          .meta({ description: 'lsp-set-addresses values; default for a guest: "MAC IP…" from the guest; e.g. [unknown], [dynamic], ["02:00:00:00:00:09 192.0.2.9"]' }),
        port_security: z.union([z.boolean(), z.array(z.string().min(1))]).optional().meta({ description: 'true = the port\'s addresses; or lsp-set-port-security values' }),
      }),
    ],
    { error: (iss) => `${show(iss.input)} is not a valid port; use a guest name, or { name, guest, addresses, port_security }` },
  );
  const logicalSwitch = obj(
    { name: ovnName('logical switch'), ports: z.array(switchPort).optional() },
    'An OVN logical switch (a Geneve VNI on the wire) and its ports',
  );
  const routerPort = obj({
    switch: ovnName('logical switch').meta({ description: 'Logical switch the port connects to (through a switch port of type router)' }),
    networks: z.array(cidr()).min(1, { error: 'a router port needs at least one network, e.g. [203.0.113.1/24]' }),
    mac: mac.optional().meta({ description: 'Default: derived from the router and switch names' }),
    name: ovnName('logical router port').optional().meta({ description: 'Default: ROUTER-SWITCH' }),
  });
  const logicalRouter = obj({ name: ovnName('logical router'), ports: z.array(routerPort).optional() }, 'An OVN logical router (distributed)');
  const acl = obj(
    {
      switch: ovnName('logical switch'),
      direction: z.enum(['from-lport', 'to-lport'], { error: (iss) => `${show(iss.input)} is not a direction; use from-lport or to-lport` }),
      priority: intIn(0, 32767, 'ACL priority'),
      match: z.string({ error: (iss) => `${show(iss.input)} is not a match; write an OVN match expression in quotes, e.g. "ip4 && icmp4"` }).min(1),
      action: z.enum(['allow', 'allow-related', 'allow-stateless', 'drop', 'reject', 'pass'], {
        error: (iss) => `${show(iss.input)} is not an ACL action; use allow, allow-related, allow-stateless, drop, reject or pass`,
      }),
    },
    'ovn-nbctl acl-add SWITCH DIRECTION PRIORITY MATCH ACTION',
  );
  const ovn = obj(
    {
      central: nameSchema.optional().meta({ description: 'Host running the NB/SB databases and ovn-northd (chassis reach it over TCP on its underlay address); default: a namespace of its own, reached through unix sockets' }),
      network: nameSchema.optional().meta({ description: 'Underlay network for Geneve (ovn-encap-ip) and the SB connection; default: the only network' }),
      chassis: z.array(nameSchema).optional().meta({ description: 'Hosts running ovn-controller; default: the hosts of the guests bound to logical ports' }),
      switches: z.array(logicalSwitch).optional(),
      routers: z.array(logicalRouter).optional(),
      acls: z.array(acl).optional(),
      nbctl: z.array(argv('an nbctl item')).optional().meta({ description: 'Extra ovn-nbctl commands (argv lists), applied after the rest, one transaction each' }),
      timeout: z
        .number({ error: (iss) => `${show(iss.input)} is not valid; timeout is seconds, e.g. 120` })
        .gt(0, { error: 'timeout must be above 0 seconds' })
        .max(3600, { error: 'timeout is at most 3600 seconds' })
        .optional()
        .meta({ description: 'Seconds `up` waits for the control plane to converge (default 120)' }),
    },
    'OVN as the Geneve control plane: central, chassis, logical switches/routers/ACLs',
  );
  const check = obj(
    {
      nbctl: argv('nbctl').optional().meta({ description: 'A read-only ovn-nbctl command, e.g. [lsp-list, network1]' }),
      sbctl: argv('sbctl').optional().meta({ description: 'A read-only ovn-sbctl command, e.g. [find, Port_Binding, logical_port=vm1]' }),
      trace: argv('trace').optional().meta({ description: 'ovn-trace arguments, e.g. [network1, \'inport == "vm1" && eth.src == 40:44:00:00:00:01 && eth.dst == 40:44:00:00:00:02\']' }),
      tunnels: z.literal('mesh', { error: (iss) => `${show(iss.input)} is not valid; tunnels: mesh (every chassis has a Geneve tunnel to every other)` }).optional(),
      expect: z.unknown().optional().meta({ description: 'list/find: { PATH: matcher } over { rows, count }; other commands and trace: one matcher over the output' }),
    },
    'A read-only look at the lab\'s OVN: exactly one of nbctl, sbctl, trace, tunnels',
  ).superRefine((c, ctx) => {
    const kinds = (['nbctl', 'sbctl', 'trace', 'tunnels'] as const).filter((k) => c[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: kinds.length ? `an ovn check asks one thing; found ${kinds.join(' and ')} — split it into separate checks` : 'an ovn check needs one of: nbctl, sbctl, trace (a query with expect) or tunnels: mesh' });
      return;
    }
    const k = kinds[0]!;
    if (k === 'tunnels') {
      if (c.expect !== undefined) ctx.addIssue({ code: 'custom', path: ['expect'], message: 'tunnels: mesh has its expectation built in (N−1 Geneve ports per chassis); remove expect' });
      return;
    }
    const args = c[k]!;
    const p = queryProblem(k, args);
    if (p) ctx.addIssue({ code: 'custom', path: [k], message: p });
    if (c.expect === undefined) {
      ctx.addIssue({ code: 'custom', path: [k], message: `a query needs expect: what its output must be (e.g. expect: 1, expect: { contains: "vm2" }${k !== 'trace' ? ', or for list/find expect: { count: 2, rows.0.up: true }' : ''})` });
      return;
    }
    if (k !== 'trace' && isTableCommand(args)) {
      if (!c.expect || typeof c.expect !== 'object' || Array.isArray(c.expect)) {
        ctx.addIssue({ code: 'custom', path: ['expect'], message: 'list/find output is a table: expect maps paths of { rows, count } to values, e.g. { count: 1, rows.0.tunnel_key: 1 }' });
        return;
      }
      for (const [path, m] of Object.entries(c.expect as Record<string, unknown>)) {
        if (!/^(count|rows(\.\w[\w:.-]*)?)$/.test(path)) ctx.addIssue({ code: 'custom', path: ['expect', path], message: `"${path}" is not a path of { rows, count }; use count, rows.0.COLUMN, rows.1.external_ids.KEY …` });
        const mp = matcherProblem(m);
        if (mp) ctx.addIssue({ code: 'custom', path: ['expect', path], message: mp });
      }
    } else {
      const mp = matcherProblem(c.expect);
      if (mp) ctx.addIssue({ code: 'custom', path: ['expect'], message: `${mp} (this command's output is text: one value or matcher, e.g. { contains: "…" })` });
    }
  });
  return { ovn, check };
}

let built: ReturnType<typeof build> | undefined;
const schemas = () => (built ??= build());

export const ovnSchema = z.lazy(() => schemas().ovn);
export const ovnCheckSchema = z.lazy(() => schemas().check);

export type RawOvn = z.output<ReturnType<typeof build>['ovn']>;
export type RawOvnCheck = z.output<ReturnType<typeof build>['check']>;
