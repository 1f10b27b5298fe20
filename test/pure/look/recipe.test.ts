/** The recipe side of the checks that look: shapes, located errors, the resolved model. */
import test from 'ava';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { recipeJsonSchema } from '../../../lib/recipe/schema.js';
import { planLab } from '../../../lib/plan/plan.js';
import { nftArgv } from '../../../lib/plan/nft.js';
import { renderShell } from '../../../lib/backends/iproute2/render.js';
import { baseRecipe, errorsOf, tryLoad } from '../recipe/helpers.js';
import type { CounterCheck, LogCheck, StateCheck, TransferCheck } from '../../../lib/model/look-checks.js';

const ovsRecipe = (checks: string, hostsExtra = '') => baseRecipe({ checks, hostsExtra }).replace('{ name: sw1, host: box-1 }', '{ name: sw1, host: box-1, kind: ovs }');
const one = (text: string) => {
  const errs = errorsOf(tryLoad(text));
  return errs.map((e) => `${e.path}: ${e.message}`);
};

test('state, counter, log and transfer resolve to the model', (t) => {
  const { lab } = loadRecipeText(ovsRecipe(`  - { name: p, ping: { from: left, to: right, tos: 0x28, ttl: 3, pmtu: do, interface: eth0 } }
  - { name: vni, state: { on: box-2, ip: [link, show, dev, tun0], expect: { linkinfo.info_data.id: 5, mtu: { max: 1450 } } } }
  - { name: flows, state: { on: sw1, ovs: [appctl, dpctl/dump-flows], contains: tnl_push, count: { pattern: "tun_id=0x5", min: 1 } } }
  - { name: frames, counter: { on: box-2, link: tun0, field: rx_frame_errors, equals: 0, during: p } }
  - { name: big, counter: { on: box-2, nft: { match: "udp dport 6081 meta length > 600" }, field: packets, min: 1, during: p } }
  - { name: port, counter: { on: sw1, ovs_port: tun0, field: tx_packets, min: 1, during: p } }
  - { name: logs, log: { on: sw1, must_not: ["tun0.*error"] } }
  - { name: mib, transfer: { from: left, to: right, bytes: 1MiB, seed: 7 } }`), 'r.yaml');
  const by = Object.fromEntries(lab.checks.map((c) => [c.name, c]));
  t.like(by.p, { kind: 'ping', tos: 0x28, ttl: 3, pmtu: 'do', source: 'eth0' });
  t.deepEqual((by.vni as StateCheck).query, { tool: 'ip', args: ['link', 'show', 'dev', 'tun0'] });
  t.deepEqual((by.flows as StateCheck).text, { contains: ['tnl_push'], notContains: [], matches: [], count: { pattern: 'tun_id=0x5', expect: { min: 1 } } });
  t.like(by.frames as CounterCheck, { host: 'box-2', source: { kind: 'link', dev: 'tun0' }, delta: { equals: 0 }, during: 'p' });
  t.like((by.big as CounterCheck).source, { kind: 'nft', table: 'geneve-lab-t', chain: 'count-prerouting', hook: 'prerouting', match: 'udp dport 6081 meta length > 600' });
  t.like((by.port as CounterCheck).source, { kind: 'ovs_port', bridge: 'sw1', port: 'tun0' });
  t.like(by.logs as LogCheck, { host: 'box-1', mustNot: ['tun0.*error'] });
  t.false('gate' in by.logs!, 'must_not given: no gate unless asked');
  t.like(by.mib as TransferCheck, { bytes: 1048576, seed: 7, protocol: 'tcp', expect: 'delivered', timeoutMs: 30000 });
  // The default gate: only box-1 runs OVS (sw1); it comes last.
  t.like(lab.checks.at(-1) as LogCheck, { name: 'vswitchd-log box-1', host: 'box-1', gate: { allow: [] }, final: true });
  t.is(lab.checks.filter((c) => c.kind === 'log' && c.final).length, 1);
});

test('the default gate: on for the lab\'s own OVS, off with gate: false, replaced by an own gating log check, allow from the host', (t) => {
  const gates = (text: string) => loadRecipeText(text, 'g.yaml').lab.checks.filter((c) => c.kind === 'log').map((c) => [c.name, (c as LogCheck).gate, (c as LogCheck).final ?? false]);
  t.deepEqual(gates(ovsRecipe('  - ping: { from: left, to: right }', '').replace('interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]', 'interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]\n    ovs: { log: { allow: ["netdev_linux.*frobnicated"] } }')), [['vswitchd-log box-1', { allow: ['netdev_linux.*frobnicated'] }, true]]);
  t.deepEqual(gates(ovsRecipe('  - ping: { from: left, to: right }').replace('interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]', 'interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]\n    ovs: { log: { gate: false } }')), []);
  t.deepEqual(gates(ovsRecipe('  - ping: { from: left, to: right }\n  - { name: mine, log: { on: box-1, allow: [x] } }')), [['mine', { allow: ['x'] }, false]]);
  t.deepEqual(gates(baseRecipe()), [], 'no OVS, no gate');
});

test('located errors: what is wrong and what would be right', (t) => {
  const cases: [string, RegExp][] = [
    ['  - state: { on: box-1, ip: [link, set, dev, tun0, down], expect: { mtu: 1 } }', /checks\[0\]\.state\.ip: ip link set dev tun0 down: "link set" is not read-only/],
    ['  - state: { on: box-1, ip: [link], ovs: [appctl, version], expect: { mtu: 1 } }', /a state check runs one query: ip or ovs, not both/],
    ['  - state: { on: box-1, ip: [link, show] }', /needs something to assert/],
    ['  - state: { on: nobody, ip: [link, show], count: 1 }', /checks\[0\]\.state\.on: unknown host, guest, switch or router "nobody"/],
    ['  - state: { on: box-1, ip: [link, show], expect: { mtu: { between: 1 } } }', /checks\[0\]\.state\.expect\.mtu: unknown matcher "between"/],
    ['  - state: { on: box-1, ip: [link, show], expect: { ifindex: { unchanged_since: up } } }', /move this check into steps/],
    ['  - state: { on: box-1, ovs: [appctl, dpctl/dump-flows], contains: x }', /"box-1" runs no OVS in this lab/],
    ['  - state: { on: box-1, ip: [link, show], contains: x, count: 1 }', /contains\/not_contains\/matches apply to ovs queries/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, link: tun0, field: rx_frame_errors, during: p }', /needs an expectation on its delta/],
    ['  - counter: { on: box-2, link: tun0, field: rx_frame_errors, min: 1 }', /a counter needs a window: during: CHECK/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, link: tun0, field: rx_frame_errors, min: 1, since: p }', /since names an earlier step; checks under checks: run before any step/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, link: tun0, field: frames, min: 1, during: p }', /"frames" is not a link counter/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, link: eth9, field: rx_packets, min: 1, during: p }', /checks\[1\]\.counter\.link: host "box-2" has no link "eth9"/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, nft: { match: "udp dport 6081; flush ruleset" }, field: packets, min: 1, during: p }', /checks\[1\]\.counter\.nft\.match: .* single nftables match expression/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, ovs_port: tun0, field: rx_packets, min: 1, during: p }', /ovs_port reads a port of an OVS switch/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - counter: { on: box-2, link: tun0, field: rx_packets, min: 1, during: nope }', /checks\[1\]\.counter\.during: unknown check "nope"/],
    ['  - log: { on: box-2, must: [x] }', /host "box-2" runs no OVS in this lab/],
    ['  - ping: { from: left, to: right, interface: eth0, source: 203.0.113.1 }', /use interface or source, not both/],
    ['  - ping: { from: left, to: right, pmtu: do, df: true }', /pmtu replaces df/],
    ['  - ping: { from: left, to: right, source: 203.0.113.9 }', /checks\[0\]\.ping\.source: 203\.0\.113\.9 is not an address of "left"/],
    ['  - ping: { from: left, to: right, interface: eth5 }', /checks\[0\]\.ping\.interface: "left" has no interface "eth5"/],
    ['  - iperf: { from: left, to: right, min_ratio: 1.5 }', /min_ratio is a fraction of the underlay baseline, at most 1/],
    ['  - transfer: { from: left, to: right, bytes: 2GiB }', /not a valid size; use 1 byte to 1GiB/],
    ['  - { name: p, ping: { from: left, to: right } }\n  - capture: { host: box-2, interface: underlay, during: p, match: { inner.arp.opp: 1 } }', /checks\[1\]\.capture\.match: match\.inner\.arp\.opp: unknown key/],
  ];
  for (const [checks, re] of cases) {
    const errs = one(baseRecipe({ checks }));
    t.true(errs.some((e) => re.test(e)), `${checks}\n→ ${errs.join('\n  ')}`);
  }
  // OVS-side errors on an OVS lab.
  const ovsErr = one(ovsRecipe('  - state: { on: sw1, ovs: [ofctl, add-flow, sw1, "actions=drop"], contains: x }'));
  t.true(ovsErr.some((e) => /"ovs-ofctl add-flow" is not read-only/.test(e)), ovsErr.join('\n'));
  const gateOnSsh = one(ovsRecipe('  - ping: { from: left, to: right }').replace('- name: box-1\n', '- name: box-1\n    ssh: root@192.0.2.11\n    ovs: { log: { gate: true } }\n'));
  t.true(gateOnSsh.some((e) => /machine's own OVS service, whose log is shared/.test(e)), gateOnSsh.join('\n'));
});

test('JSON Schema covers the new kinds and knobs', (t) => {
  const s = recipeJsonSchema() as any;
  const check = s.properties.checks.items.properties;
  for (const k of ['state', 'counter', 'log', 'transfer']) t.truthy(check[k], k);
  t.truthy(check.counter.properties.nft.properties.match);
  t.truthy(check.ping.properties.pmtu && check.ping.properties.tos && check.ping.properties.interface);
  t.truthy(check.iperf.properties.min_ratio);
  t.truthy(check.capture.properties.match && check.capture.properties.packets);
  t.truthy(s.properties.hosts.items.properties.ovs.properties.log.properties.allow);
});

test('nft counter rules: planned at up in the counter\'s namespace, idempotent, no undo in an owned namespace', (t) => {
  const { lab } = loadRecipeText(baseRecipe({ checks: '  - { name: p, ping: { from: left, to: right } }\n  - { name: big, counter: { on: box-2, nft: { match: "udp dport 4789 meta length > 600", hook: input }, field: packets, min: 1, during: p } }' }), 'n.yaml');
  const plan = planLab(lab);
  const steps = plan.steps.filter((s) => s.op.op === 'nft.counters');
  t.is(steps.length, 1);
  t.is(steps[0]!.undo, null, 'the namespace goes with the lab');
  const op = steps[0]!.op as Extract<typeof steps[0]['op'], { op: 'nft.counters' }>;
  t.is(op.ns, 'gl-t-box-2');
  // nft from the system's directories, never node_modules/.bin's (@vercel/nft under npx).
  const nft = ['env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'nft'];
  t.deepEqual(nftArgv(op), [
    [...nft, 'add', 'table', 'inet', 'geneve-lab-t', '{ comment "geneve-lab:t" ; }'],
    [...nft, 'flush', 'table', 'inet', 'geneve-lab-t'],
    [...nft, 'add', 'chain', 'inet', 'geneve-lab-t', 'count-input', '{ type filter hook input priority -300 ; policy accept ; }'],
    [...nft, 'add', 'rule', 'inet', 'geneve-lab-t', 'count-input', 'udp dport 4789 meta length > 600', 'counter', 'comment', `"${(lab.checks[1] as CounterCheck).source.kind === 'nft' ? ((lab.checks[1] as CounterCheck).source as { comment: string }).comment : ''}"`],
  ]);
  t.regex(renderShell(plan.steps), /ip netns exec gl-t-box-2 env PATH=\S+ nft add rule inet geneve-lab-t count-input 'udp dport 4789 meta length > 600' counter comment/);
});

test('nft counter rules on an SSH host get an explicit undo', (t) => {
  const text = baseRecipe({ checks: '  - { name: p, ping: { from: left, to: right } }\n  - { name: big, counter: { on: box-2, nft: { match: "udp dport 4789" }, field: packets, min: 1, during: p } }' })
    .replace('- name: box-1\n', '- name: box-1\n    ssh: root@192.0.2.11\n')
    .replace('- name: box-2\n', '- name: box-2\n    ssh: root@192.0.2.12\n');
  const { lab } = loadRecipeText(text, 's.yaml');
  const step = planLab(lab).steps.find((s) => s.op.op === 'nft.counters')!;
  t.like(step.op, { ns: '', table: 'geneve-lab-t' });
  t.deepEqual(step.undo, { op: 'nft.delete', ns: '', table: 'geneve-lab-t' });
  t.deepEqual(nftArgv(step.undo as never).map((a) => a.slice(2)), [['nft', 'add', 'table', 'inet', 'geneve-lab-t'], ['nft', 'delete', 'table', 'inet', 'geneve-lab-t']]);
});
