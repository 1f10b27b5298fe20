/**
 * IPsec in recipes and plans (pure): `ipsec:` and `ovs: { psk }` validated with file:line:column
 * and the fix; the plan's operations in the order that never lets a packet out unencrypted; undo of
 * exactly what the lab installs; the PSK redacted in everything printed; guests sized for ESP.
 */
import test from 'ava';
import { inspect } from 'node:util';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { planLab } from '../../../lib/plan/plan.js';
import type { Op, Plan } from '../../../lib/plan/ops.js';
import { planHash } from '../../../lib/engine/engine.js';
import { renderShell } from '../../../lib/backends/iproute2/render.js';
import { PrerequisiteError } from '../../../lib/errors.js';
import { errorsOf, tryLoad } from '../recipe/helpers.js';

const PSK = 'Sw0rdf1sh-psk';

function recipe(o: { kinds?: [string, string]; tunnel: string; hosts?: [string, string]; guestMtu?: string } = { tunnel: '' }): string {
  const [k1, k2] = o.kinds ?? ['ovs', 'ovs'];
  return `lab: t
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]${o.hosts?.[0] ?? ''} }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]${o.hosts?.[1] ?? ''} }
switches:
  - { name: sw1, host: box-1, kind: ${k1} }
  - { name: sw2, host: box-2, kind: ${k2} }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24]${o.guestMtu ?? ''} }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - ${o.tunnel}
`;
}

const plan = (text: string, autoDatapath: 'system' | 'netdev' = 'system') => planLab(loadRecipeText(text, 'r.yaml').lab, { autoDatapath, runRoot: '/run/gl/run' });
const ops = (p: Plan) => p.steps.map((s) => `${s.host ?? '-'} ${s.op.op}`);
const op = <K extends Op['op']>(p: Plan, name: K, host?: string) => p.steps.find((s) => s.op.op === name && (!host || s.host === host)) as (Plan['steps'][number] & { op: Extract<Op, { op: K }> }) | undefined;

test('GRE over IPsec on OVS ports: IKE daemons with ovs-monitor-ipsec after OVS, a gre port, then its PSK, then the SA wait', (t) => {
  const p = plan(recipe({ tunnel: `{ name: tun0, between: [sw1, sw2], type: gre, ovs: { psk: ${PSK} } }` }));
  const seq = ops(p).filter((x) => /ipsec|ovs\.start|ovs\.tunnel|skb/.test(x) || x.endsWith('ovs.cmds'));
  const idx = (x: string) => seq.indexOf(x);
  t.true(idx('box-1 ovs.start') < idx('box-1 ipsec.start'));
  t.true(idx('box-1 ovs.tunnel') < idx('box-1 ipsec.psk'));
  t.is(ops(p).at(-1), 'box-1 ipsec.await');
  t.false(JSON.stringify(p).includes('ipsec_skb_mark'), 'no skb-mark guard (see lib/plan/ipsec.ts)');
  t.like(op(p, 'ipsec.start', 'box-1')!.op, { ns: 't-box-1'.replace(/^/, 'gl-'), dir: '/run/gl/run/t/ipsec-box-1', ovsDb: '/run/gl/run/t/ovs-box-1/db.sock' });
  t.like(op(p, 'ovs.tunnel', 'box-2')!.op.port, { type: 'gre', remoteIp: '192.0.2.11' });
  t.false('psk' in op(p, 'ovs.tunnel', 'box-2')!.op.port);
  t.like(op(p, 'ipsec.psk', 'box-2')!.op, { port: 'tun0', db: '/run/gl/run/t/ovs-box-2/db.sock' });
  t.like(op(p, 'ipsec.await')!.op.spec, { tunnel: 'tun0', local: '192.0.2.11', remote: '192.0.2.12', sel: { proto: 'gre' }, conns: { ovsPort: 'tun0' } });
  t.deepEqual(op(p, 'ipsec.start', 'box-1')!.undo, { op: 'ipsec.stop', ns: 'gl-t-box-1', dir: '/run/gl/run/t/ipsec-box-1', lab: 't' });
});

test('the PSK is <redacted> in the plan (JSON, text, sh), util.inspect and the state-bound hash, yet changing it changes the hash', (t) => {
  const text = recipe({ tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, vni: 5, ipsec: { psk: ${PSK} } }` });
  const p = plan(text);
  for (const shown of [JSON.stringify(p), renderShell(p.steps), inspect(p, { depth: 10 })]) {
    t.false(shown.includes(PSK));
    t.true(shown.includes('<redacted>'));
  }
  t.not(planHash(p), planHash(plan(text.replace(PSK, `${PSK}x`))));
  t.is(planHash(p), planHash(plan(text)));
});

test('kernel netdev ends with a PSK: IKE daemons without the monitor, the lab\'s connections before the netdev exists', (t) => {
  const p = plan(recipe({ kinds: ['bridge', 'bridge'], tunnel: `{ name: tun-1, between: [sw1, sw2], type: geneve, vni: 5, family: ipv6, ipsec: { psk: ${PSK}, esp: aes128gcm16 } }` }));
  t.false('ovsDb' in op(p, 'ipsec.start', 'box-1')!.op);
  const at = (name: string, subject: string) => p.steps.findIndex((s) => s.op.op === name && s.subject === subject);
  for (const h of ['box-1', 'box-2']) t.true(at('ipsec.conns', `tunnel "tun-1" on host "${h}" IPsec`) < at('link.add', `tunnel "tun-1" on host "${h}"`), h);
  const conns = op(p, 'ipsec.conns', 'box-1')!.op;
  t.deepEqual(conns.conns, [
    { name: 'gl_tun_1_in', local: '2001:db8::11', remote: '2001:db8::12', localProto: 'udp/6081', remoteProto: 'udp' },
    { name: 'gl_tun_1_out', local: '2001:db8::11', remote: '2001:db8::12', localProto: 'udp', remoteProto: 'udp/6081' },
  ]);
  t.is(conns.esp, 'aes128gcm16');
  t.deepEqual(op(p, 'ipsec.await')!.op.spec.conns, { names: ['gl_tun_1_in', 'gl_tun_1_out'] });
  t.is(op(p, 'ipsec.conns', 'box-1')!.undo, null, 'gone with the daemon and the namespace');
});

test('static keys: SAs and policies before the netdev, one SPI per direction, undone exactly (by SPI and selector)', (t) => {
  const k = (c: string, n: number) => `"0x${c.repeat(n * 2)}"`;
  const p = plan(recipe({ kinds: ['bridge', 'ovs'], tunnel: `{ name: tun0, between: [sw1, sw2], type: vxlan, vni: 9, ipsec: { esp: aes128-sha256, keys: [{ spi: 0x1001, key: ${k('a', 16)}, auth_key: ${k('b', 32)} }, { spi: 0x1002, key: ${k('c', 16)}, auth_key: ${k('d', 32)} }] } }` }));
  const seq = ops(p);
  t.true(seq.indexOf('box-1 xfrm.add') < seq.lastIndexOf('box-1 link.add'));
  t.true(seq.indexOf('box-2 xfrm.add') < seq.indexOf('box-2 ovs.tunnel'), 'on an OVS end (kernel datapath) too');
  t.false(seq.some((s) => s.includes('ipsec.')), 'no IKE daemon, nothing to wait for');
  const a = op(p, 'xfrm.add', 'box-2')!;
  t.like(a.op.states[0], { src: '192.0.2.12', dst: '192.0.2.11', spi: 0x1002, inbound: false, esp: 'aes128-sha256' });
  t.like(a.op.states[1], { src: '192.0.2.11', dst: '192.0.2.12', spi: 0x1001, inbound: true });
  t.deepEqual(a.op.policies.map((x) => [x.dir, x.sel]), [
    ['out', { src: '192.0.2.12', dst: '192.0.2.11', proto: 'udp', dport: 4789 }],
    ['in', { src: '192.0.2.11', dst: '192.0.2.12', proto: 'udp', dport: 4789 }],
  ]);
  t.deepEqual(a.undo, {
    op: 'xfrm.del',
    ns: 'gl-t-box-2',
    states: [{ src: '192.0.2.12', dst: '192.0.2.11', spi: 0x1002 }, { src: '192.0.2.11', dst: '192.0.2.12', spi: 0x1001 }],
    policies: a.op.policies.map((x) => ({ sel: x.sel, dir: x.dir })),
  });
  const sh = renderShell(p.steps);
  t.regex(sh, /ip -n gl-t-box-1 xfrm state add src 192\.0\.2\.11 dst 192\.0\.2\.12 proto esp spi 0x00001001 reqid \d+ mode transport enc 'cbc\(aes\)' '<redacted>' auth-trunc 'hmac\(sha256\)' '<redacted>' 128/);
  t.false(/aaaa|bbbb/.test(sh + JSON.stringify(p)));
});

test('SSH hosts: the machine\'s own OVS IPsec service gets the PSK; static SAs go into the machine\'s namespace with an explicit undo', (t) => {
  const ssh = [', ssh: root@198.51.100.1', ', ssh: root@198.51.100.2'] as [string, string];
  const p = plan(recipe({ hosts: ssh, tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, vni: 5, ipsec: { psk: ${PSK} } }` }));
  t.false(ops(p).some((x) => x.includes('ipsec.start')));
  t.like(op(p, 'ipsec.psk', 'box-1')!.op, { ns: '', db: '/var/run/openvswitch/db.sock' });
  t.false('ipsecDir' in op(p, 'ipsec.await')!.op, 'the machine\'s own ipsec command');
  const st = plan(recipe({ kinds: ['bridge', 'bridge'], hosts: ssh, tunnel: '{ name: tun0, between: [sw1, sw2], type: gre, ipsec: { esp: aes128gcm16, keys: [{ spi: 0x200, key: "0x' + '11'.repeat(20) + '" }, { spi: 0x201, key: "0x' + '22'.repeat(20) + '" }] } }' }));
  const x = op(st, 'xfrm.add', 'box-1')!;
  t.is(x.op.ns, '');
  t.is(x.undo?.op, 'xfrm.del');
});

test('the userspace datapath is refused before anything is built, naming what works instead', (t) => {
  const text = recipe({ tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: ${PSK} } }` });
  const e = t.throws(() => plan(text, 'netdev'), { instanceOf: PrerequisiteError });
  t.regex(e!.message, /tunnel "tun0" on host "box-1": IPsec on an OVS port: unsupported here: the OVS userspace \(netdev\) datapath cannot encrypt tunnels/);
  t.regex(e!.message, /the kernel datapath \(hosts\[\]\.ovs\.datapath: system; .*`geneve-lab vm -- up RECIPE`\), or a kernel tunnel netdev at this end \(a switch with kind: bridge\) with ipsec: \{ psk \} or \{ keys \}/);
  t.notThrows(() => plan(recipe({ kinds: ['bridge', 'bridge'], tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: ${PSK} } }` }), 'netdev'), 'kernel netdev ends do not need the OVS datapath');
});

test('guests get an MTU that leaves room for ESP; a guest MTU that does not is a warning naming ESP', (t) => {
  const mtuOf = (text: string) => {
    const p = plan(text);
    return (p.steps.find((s) => s.op.op === 'link.add' && s.subject === 'guest "left"')!.op as Extract<Op, { op: 'link.add' }>).link.mtu;
  };
  const plain = mtuOf(recipe({ kinds: ['bridge', 'bridge'], tunnel: '{ name: tun0, between: [sw1, sw2], type: geneve }' }));
  t.is(plain, 1450);
  t.is(mtuOf(recipe({ kinds: ['bridge', 'bridge'], tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: ${PSK} } }` })), 1450 - 37);
  t.is(mtuOf(recipe({ kinds: ['bridge', 'bridge'], tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: ${PSK}, esp: aes256-sha256 } }` })), 1450 - 57);
  const w = loadRecipeText(recipe({ tunnel: `{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: ${PSK} } }`, guestMtu: ', mtu: 1450' }), 'r.yaml').warnings;
  t.regex(w.map((x) => x.message).join('\n'), /MTU 1450 does not fit: underlay MTU 1500 minus 87 bytes of geneve\/ipv4 \+ ESP \(aes256gcm16\) encapsulation leaves 1413/);
});

test('recipe errors: located, each with what is wrong and what would be right', (t) => {
  const bad = (tunnel: string, kinds?: [string, string], hosts?: [string, string]) =>
    errorsOf(tryLoad(recipe({ tunnel, ...(kinds ? { kinds } : {}), ...(hosts ? { hosts } : {}) }), 'r.yaml'))
      .map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)
      .join('\n');
  t.regex(bad('{ name: tun0, between: [sw1, sw2], type: gre, ovs: { psk: a }, ipsec: { psk: a } }'), /12:\d+ tunnels\[0\]\.ovs\.psk: ovs\.psk and ipsec both configure IPsec; keep one/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { esp: aes128gcm16 } }'), /tunnels\[0\]\.ipsec: ipsec needs psk \(IKEv2 negotiates the SAs\) or keys/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { psk: a, keys: [{ spi: 0x100, key: "0x00" }, { spi: 0x101, key: "0x00" }] } }'), /ipsec has both psk and keys/);
  const keys = bad('{ name: tun0, between: [sw1, sw2], ipsec: { esp: aes128gcm16, keys: [{ spi: 0x100, key: "0x0011", auth_key: "0x00" }, { spi: 0x100, key: "0x' + '00'.repeat(20) + '" }] } }');
  t.regex(keys, /tunnels\[0\]\.ipsec\.keys\[0\]\.key: aes128gcm16 needs a 20-byte key \(40 hex digits: 16 or 32 bytes of AES key \+ 4 bytes of salt\), got 2 bytes/);
  t.regex(keys, /keys\[0\]\.auth_key: aes128gcm16 is an AEAD algorithm .*; remove auth_key/);
  t.regex(keys, /keys\[1\]\.spi: both directions use SPI 0x100; give each direction its own SPI/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { esp: aes128-sha1, keys: [{ spi: 0x100, key: "0x' + '00'.repeat(16) + '" }, { spi: 0x101, key: "0x' + '00'.repeat(16) + '", auth_key: "0x00" }] } }'), /keys\[0\]\.key: aes128-sha1 also needs auth_key: a 20-byte HMAC key[\s\S]*keys\[1\]\.auth_key: aes128-sha1 needs a 20-byte auth_key/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { psk: a, esp: des } }'), /ipsec\.esp: "des" is not a supported ESP algorithm; use one of: aes128gcm16, aes256gcm16, aes128-sha1/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { keys: [{ spi: 5, key: "0x00" }, { spi: 0x101, key: 1234 }] } }'), /keys\[0\]\.spi: SPIs 0\.\.255 are reserved[\s\S]*keys\[1\]\.key: 1234 is not valid for key; write the key as hex in quotes/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { psk: \'say "hi"\' } }'), /ipsec\.psk: a pre-shared key is printable ASCII without " and \\/);
  t.regex(bad('{ name: tun0, between: [sw1, sw2], type: geneve, dstport: 7000, ipsec: { psk: a } }'), /tunnels\[0\]\.dstport: ovs-monitor-ipsec protects geneve only on UDP port 6081/);
  t.regex(
    bad('{ name: tun0, between: [sw1, sw2], type: geneve, ipsec: { psk: a } }', ['bridge', 'bridge'], [', ssh: root@198.51.100.1', '']),
    /ipsec: a pre-shared key on a kernel netdev end needs geneve-lab's own IKE daemon, and host "box-1" is an SSH host .*use static keys \(ipsec: \{ keys: \[\.\.\.\] \}\) or an OVS port there/,
  );
  t.regex(bad('{ name: tun0, between: [sw1, sw2], ipsec: { psk: a, wait: 3 } }'), /tunnels\[0\]\.ipsec\.wait: unknown key "wait"; allowed here: psk, esp, keys/);
});
