/**
 * A generated scale lab for the backend benchmark: N guests, each in its own namespace with a
 * veth pair into a Linux bridge on one of ceil(N / 50) hosts, and one address each.
 *
 * Addresses stay inside documentation ranges: IPv4 from 198.51.100.0/24 then 203.0.113.0/24
 * while they last (N ≤ 508), else IPv6 2001:db8:H::G/64 (nodad, as the planner does for IPv6).
 *
 * `scaleBatchScript` writes the same kernel work by hand as `ip -batch` input — one batch for
 * the root namespace's `netns add`s and one `ip -n NS -batch -` per namespace — the practical
 * floor for a tool that drives iproute2 processes. It deliberately does not use lib/.
 */

export const GUESTS_PER_HOST = 50;

export interface ScaleLayout {
  lab: string;
  tag: string;
  /** The planner always creates the default underlay network's namespace and bridge (unused here). */
  underlay: { ns: string; bridge: string };
  hosts: { name: string; ns: string; bridge: string }[];
  guests: { name: string; ns: string; host: number; address: string }[];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function scaleLayout(lab: string, n: number): ScaleLayout {
  if (!Number.isInteger(n) || n < 1) throw new Error(`guest count must be a positive integer, got ${n}`);
  if (!/^[a-z][a-z0-9]{0,9}$/.test(lab)) throw new Error(`lab name "${lab}" must be 1-10 lowercase letters/digits, starting with a letter`);
  const hostCount = Math.ceil(n / GUESTS_PER_HOST);
  const ipv4 = n <= 254 * 2;
  const hosts = Array.from({ length: hostCount }, (_, h) => ({ name: `h${pad(h + 1, 2)}`, ns: `gl-${lab}-h${pad(h + 1, 2)}`, bridge: `br${h + 1}` }));
  const guests = Array.from({ length: n }, (_, i) => {
    const host = Math.floor(i / GUESTS_PER_HOST);
    const name = `g${pad(i + 1, 4)}`;
    const address = ipv4
      ? i < 254
        ? `198.51.100.${i + 1}/24`
        : `203.0.113.${i - 253}/24`
      : `2001:db8:${(host + 1).toString(16)}::${(i % GUESTS_PER_HOST + 1).toString(16)}/64`;
    return { name, ns: `gl-${lab}-${name}`, host, address };
  });
  return { lab, tag: `geneve-lab:${lab}`, underlay: { ns: `gl-${lab}--underlay`, bridge: 'br0' }, hosts, guests };
}

/** The recipe YAML for the layout. */
export function scaleRecipe(layout: ScaleLayout): string {
  const lines = [`lab: ${layout.lab}`, `description: scale benchmark, ${layout.guests.length} guests on ${layout.hosts.length} hosts`, 'hosts:'];
  for (const h of layout.hosts) lines.push(`  - { name: ${h.name} }`);
  lines.push('switches:');
  for (const h of layout.hosts) lines.push(`  - { name: ${h.bridge}, host: ${h.name}, kind: bridge }`);
  lines.push('guests:');
  for (const g of layout.guests) lines.push(`  - { name: ${g.name}, switch: ${layout.hosts[g.host]!.bridge}, addresses: ["${g.address}"] }`);
  return lines.join('\n') + '\n';
}

export interface BatchScript {
  /** Input for `ip -batch -` in the root namespace. */
  root: string;
  /** Per namespace, in order: input for `ip -n NS -batch -`. */
  perNamespace: { ns: string; input: string }[];
  /** Input for `ip -batch -` that removes the lab. */
  down: string;
}

/**
 * The same objects the planner asks for (tagged lo up, a tagged veth pair per guest with its
 * peer enslaved and up, a tagged bridge per host, one address per guest), written as batches.
 * The underlay namespace mirrors the planner's default network. Guests go first so each guest's veth is created with its peer directly in the host
 * namespace; each host batch then builds its bridge and takes the peers as ports.
 */
export function scaleBatchScript(layout: ScaleLayout): BatchScript {
  const { tag } = layout;
  const all = [layout.underlay.ns, ...layout.hosts.map((h) => h.ns), ...layout.guests.map((g) => g.ns)];
  const root = all.map((ns) => `netns add ${ns}`).join('\n') + '\n';
  const perNamespace: BatchScript['perNamespace'] = [];
  const u = layout.underlay;
  perNamespace.push({
    ns: u.ns,
    input: ['link set lo up', `link set lo alias ${tag}`, `link add ${u.bridge} mtu 1500 type bridge`, `link set ${u.bridge} alias ${tag}`, `link set dev ${u.bridge} up`].join('\n') + '\n',
  });
  for (const g of layout.guests) {
    const hostNs = layout.hosts[g.host]!.ns;
    perNamespace.push({
      ns: g.ns,
      input: [
        'link set lo up',
        `link set lo alias ${tag}`,
        `link add eth0 type veth peer name ${g.name} netns ${hostNs}`,
        `link set eth0 alias ${tag}`,
        'link set dev eth0 up',
        `addr add ${g.address} dev eth0${g.address.includes(':') ? ' nodad' : ''}`,
      ].join('\n') + '\n',
    });
  }
  for (const [h, host] of layout.hosts.entries()) {
    const lines = ['link set lo up', `link set lo alias ${tag}`, `link add ${host.bridge} type bridge`, `link set ${host.bridge} alias ${tag}`, `link set dev ${host.bridge} up`];
    for (const g of layout.guests.filter((x) => x.host === h)) lines.push(`link set ${g.name} alias ${tag}`, `link set dev ${g.name} master ${host.bridge} up`);
    perNamespace.push({ ns: host.ns, input: lines.join('\n') + '\n' });
  }
  const down = all.map((ns) => `netns del ${ns}`).join('\n') + '\n';
  return { root, perNamespace, down };
}
