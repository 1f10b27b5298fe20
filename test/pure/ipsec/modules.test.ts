/**
 * lib/ipsec's pure parts: the strongSwan files one host's charon reads, the `ip xfrm` lines (keys on
 * stdin only), the parsers of `ip xfrm state` and `ipsec status` (texts as the real tools printed
 * them in the VM tier), and the runner against a scripted executor: a failed `xfrm.add` takes out
 * what it put in, a deletion of something already gone is fine, a PSK never reaches an argv.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor, RunOptions, RunResult } from '../../../lib/exec/executor.js';
import { secret } from '../../../lib/ipsec/secret.js';
import { ipsecPaths, ipsecDir } from '../../../lib/ipsec/paths.js';
import { ikeConnsFor, ipsecConfTop, ipsecSecretsTop, labConnName, labConns, labSecrets, strongswanConf, wrapperScript } from '../../../lib/ipsec/strongswan.js';
import { parseXfrmStates, policyAddLine, policyDeleteLine, saPair, stateAddLine, stateDeleteLine } from '../../../lib/ipsec/xfrm.js';
import { ikeCryptoProblem, negotiationHints, ovsPortConns, parseIpsecStatus } from '../../../lib/ipsec/status.js';
import { charonLogTail } from '../../../lib/ipsec/await.js';
import { IpsecRunner } from '../../../lib/ipsec/runner.js';
import { pskTransaction } from '../../../lib/ipsec/ovsdb-psk.js';
import { OpError } from '../../../lib/errors.js';
import type { Step } from '../../../lib/plan/ops.js';

const P = ipsecPaths('/run/gl/run/lab/ipsec-box-1');

test('strongswan.conf: the package plugins minus bypass-lan, OVS\'s kernel settings, our secrets and log, starter reads our ipsec.conf', (t) => {
  const c = strongswanConf(P, 'IKE daemon on host "box-1"');
  t.regex(c, /include \/etc\/strongswan\.d\/charon\/\*\.conf\n    bypass-lan \{\n      load = no/);
  t.regex(c, /set_proto_port_transport_sa = yes/);
  t.regex(c, /secrets_file = \/run\/gl\/run\/lab\/ipsec-box-1\/ipsec\.secrets/);
  t.regex(c, /path = \/run\/gl\/run\/lab\/ipsec-box-1\/charon\.log/);
  t.regex(c, /starter \{\n  config_file = \/run\/gl\/run\/lab\/ipsec-box-1\/ipsec\.conf\n\}/);
  t.is(ipsecConfTop(P, 'x', true).split('\n').filter((l) => l.startsWith('include')).join('|'), 'include /run/gl/run/lab/ipsec-box-1/etc/ipsec.conf|include /run/gl/run/lab/ipsec-box-1/lab.d/*.conf');
  t.false(ipsecConfTop(P, 'x', false).includes('etc/ipsec.conf'));
  t.is(ipsecSecretsTop(P, true), 'include /run/gl/run/lab/ipsec-box-1/etc/ipsec.secrets\ninclude /run/gl/run/lab/ipsec-box-1/lab.d/*.secrets\n');
});

test('the host\'s ipsec wrapper: STRONGSWAN_CONF and a private /run, paths quoted', (t) => {
  const w = wrapperScript(ipsecPaths("/tmp/it's/ipsec-a"), 'host "a"');
  t.regex(w, /^#!\/bin\/sh\n/);
  t.regex(w, /STRONGSWAN_CONF='\/tmp\/it'\\''s\/ipsec-a\/strongswan\.conf'\nexport STRONGSWAN_CONF\n/);
  t.regex(w, /exec unshare --mount --propagation private -- \/bin\/sh -c '[^]*' '\/tmp\/it'\\''s\/ipsec-a\/run' '\/tmp\/it'\\''s\/ipsec-a' "\$@"\n$/);
  // The private run directory goes on /run with its submounts; a host directory under /run is
  // bound inside it first, or the mount would hide the configuration (test/priv/ipsec proves it).
  t.regex(w, /mount --rbind "\$run" \/run && exec \/usr\/sbin\/ipsec "\$@"/);
  t.regex(w, /case \$dir in \/run\/\*\) inner=\$run\$\{dir#\/run\}; mkdir -p "\$inner" && mount --bind "\$dir" "\$inner"/);
});

test('the lab\'s connections mirror ovs-monitor-ipsec\'s and carry names its clean-up never takes for its own', (t) => {
  t.deepEqual(ikeConnsFor('t', 'gre', 'a', 'b'), [{ name: 'gl_t', local: 'a', remote: 'b', localProto: 'gre', remoteProto: 'gre' }]);
  t.deepEqual(ikeConnsFor('t', 'vxlan', 'a', 'b', 4789).map((c) => [c.localProto, c.remoteProto]), [['udp/4789', 'udp'], ['udp', 'udp/4789']]);
  // ovs-monitor-ipsec's refresh() takes down every connection matching this (its own naming).
  const monitors = /(.*)(-in-\d+|-out-\d+|-\d+).*/;
  for (const name of ['tun-1', 'a-2-b', 'x-in-3']) for (const d of [undefined, 'in', 'out'] as const) t.false(monitors.test(labConnName(name, d)), labConnName(name, d));
  const text = labConns(ikeConnsFor('tun0', 'geneve', '2001:db8::11', '2001:db8::12', 6081), 'aes128-sha256');
  t.regex(text, /conn gl_tun0_in\n    keyexchange=ikev2\n    type=transport\n    auto=route\n    keyingtries=%forever\n    authby=psk\n    ike=aes256gcm16-sha256-modp2048\n    esp=aes128-sha256-modp2048\n    left=2001:db8::11\n    right=2001:db8::12\n    leftprotoport=udp\/6081\n    rightprotoport=udp\n/);
  t.is(labSecrets('192.0.2.12', secret('p s"k')), '%any 192.0.2.12 : PSK "p s"k"\n');
});

test('IPsec directories stay short enough for the monitor\'s control socket', (t) => {
  t.is(ipsecDir('/run/geneve-lab/run', 'lab', 'box-1'), '/run/geneve-lab/run/lab/ipsec-box-1');
  const long = ipsecDir('/tmp/gl-ipsec-test-Ab12Cd/state/run', 'twenty-chars-lab-nam', 'a-rather-long-host-name-xyz');
  t.regex(long, /^\/tmp\/gl-ipsec-test-Ab12Cd\/state\/run\/ipsec-[0-9a-f]{12}$/);
  t.true(`${long}/ovs-monitor-ipsec.4194304.ctl`.length <= 107, long);
});

const gcm = { src: '192.0.2.11', dst: '192.0.2.12', spi: 0x1001, reqid: 7, esp: 'aes128gcm16', key: secret('11'.repeat(20)), inbound: true };
const cbc = { src: '2001:db8::12', dst: '2001:db8::11', spi: 0xc0ffee, reqid: 7, esp: 'aes256-sha1', key: secret('22'.repeat(32)), authKey: secret('33'.repeat(20)), inbound: false };

test('ip xfrm lines: exact, keys only in the state lines (given on stdin), deletions by identity', (t) => {
  t.is(stateAddLine(gcm), `xfrm state add src 192.0.2.11 dst 192.0.2.12 proto esp spi 0x00001001 reqid 7 mode transport replay-window 32 aead rfc4106(gcm(aes)) 0x${'11'.repeat(20)} 128`);
  t.is(stateAddLine(cbc), `xfrm state add src 2001:db8::12 dst 2001:db8::11 proto esp spi 0x00c0ffee reqid 7 mode transport enc cbc(aes) 0x${'22'.repeat(32)} auth-trunc hmac(sha1) 0x${'33'.repeat(20)} 96`);
  const pol = { sel: { src: '2001:db8::12', dst: '2001:db8::11', proto: 'udp' as const, dport: 6081 }, dir: 'out' as const, reqid: 7 };
  t.is(policyAddLine(pol), 'xfrm policy add src 2001:db8::12/128 dst 2001:db8::11/128 proto udp dport 6081 dir out tmpl src 2001:db8::12 dst 2001:db8::11 proto esp reqid 7 mode transport');
  t.is(policyDeleteLine(pol), 'xfrm policy delete src 2001:db8::12/128 dst 2001:db8::11/128 proto udp dport 6081 dir out');
  t.is(stateDeleteLine(gcm), 'xfrm state delete src 192.0.2.11 dst 192.0.2.12 proto esp spi 0x00001001');
});

test('parse ip xfrm state (as the kernel printed it in the VM tier): keys, selectors, counters; pairs across IPv6 spellings', (t) => {
  const sas = parseXfrmStates(readFileSync(join(import.meta.dirname, '../../fixtures/esp/cbc-sha256-geneve6.xfrm.txt'), 'utf8'));
  t.is(sas.length, 2);
  t.like(sas[0], { src: '2001:db8::2', dst: '2001:db8::1', proto: 'esp', spi: 0x1002, reqid: 7, mode: 'transport' });
  t.is(sas[0]!.enc!.name, 'cbc(aes)');
  t.is(sas[0]!.enc!.key.length, 32);
  t.like(sas[0]!.auth, { name: 'hmac(sha256)', truncBits: 128 });
  const withStats = parseXfrmStates(`src 192.0.2.1 dst 192.0.2.2
	proto esp spi 0xca37e7eb(3392661483) reqid 1(0x00000001) mode transport
	replay-window 0 seq 0x00000000 flag  (0x00000000)
	aead rfc4106(gcm(aes)) 0x5c0d46f124f6f52a457e54cf1ec44b34194d2308118ff98db45e5dcf583f0acbbb60a996 (288 bits) 128
	anti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000
	sel src 192.0.2.1/32 dst 192.0.2.2/32 proto gre uid 0
	lifetime current:
	  148(bytes), 2(packets)
	  add 2026-12-06 04:02:40 use -
`);
  t.like(withStats[0], { spi: 0xca37e7eb, reqid: 1, packets: 2, sel: { src: '192.0.2.1', dst: '192.0.2.2', proto: 'gre' } });
  t.is(withStats[0]!.aead!.key.length, 36);
  t.truthy(saPair(sas, '2001:DB8:0::1', '2001:db8::2').in);
  t.truthy(saPair(sas, '2001:db8::1', '2001:db8::2').out);
});

const STATUS = `Shunted Connections:
prevent_unencrypted_gre:  dynamic[gre] === dynamic DROP
Routed Connections:
      tun0-1{1}:  ROUTED, TRANSPORT, reqid 1
      tun0-1{1}:   192.0.2.1/32[gre] === 192.0.2.2/32[gre]
     gl_t_in{4}:  ROUTED, TRANSPORT, reqid 4
Security Associations (1 up, 0 connecting):
      tun0-1[2]: ESTABLISHED 24 seconds ago, 192.0.2.1[192.0.2.1]...192.0.2.2[192.0.2.2]
      tun0-1{3}:  INSTALLED, TRANSPORT, reqid 1, ESP SPIs: cf88a31b_i ca37e7eb_o
      tun0-1{3}:   192.0.2.1/32[gre] === 192.0.2.2/32[gre]
`;

test('parse ipsec status (as strongSwan printed it in the VM tier); the monitor\'s connection names per port', (t) => {
  const s = parseIpsecStatus(STATUS);
  t.deepEqual(s.routed, ['tun0-1', 'gl_t_in']);
  t.deepEqual(s.ike, [{ conn: 'tun0-1', id: 2, state: 'ESTABLISHED' }]);
  t.deepEqual(s.children, [{ conn: 'tun0-1', id: 3, state: 'INSTALLED', spis: { in: 0xcf88a31b, out: 0xca37e7eb } }]);
  t.deepEqual(ovsPortConns(['tun0-1', 'tun0-2', 'tun00-3', 'gl_tun0'], 'tun0'), ['tun0-2'], 'the newest version only, not another port\'s');
  t.deepEqual(ovsPortConns(['t-in-4', 't-out-4'], 't'), ['t-in-4', 't-out-4']);
});

test('negotiation hints say what to fix', (t) => {
  t.regex(negotiationHints('Dec  6 04:02:12 11[IKE] received AUTHENTICATION_FAILED notify error').join(), /pre-shared keys differ/);
  t.regex(negotiationHints('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built').join(), /no common proposal/);
  t.regex(negotiationHints('retransmit 3 of request with message ID 0').join(), /no answer from the peer/);
  t.deepEqual(negotiationHints('IKE_SA x established'), []);
  t.deepEqual(negotiationHints('received NO_PROPOSAL_CHOSEN notify error\nreceived AUTHENTICATION_FAILED notify error'), ["IKE authentication failed (AUTHENTICATION_FAILED): the two ends' pre-shared keys differ"], 'the most recent failure only');
});

// charon on the Vagrant boxes before libstrongswan-standard-plugins was in the box (journal, -o cat):
// it accepts OVS's AES-GCM proposal, then cannot derive the keys.
const NO_GCM_LOG = `00[LIB] plugin 'gcm': failed to load - gcm_plugin_create not found and no plugin file available
06[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]
06[CFG] selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/MODP_2048
06[IKE] ENCRYPTION_ALGORITHM AES_GCM_16 (key size 256) not supported!
06[IKE] key derivation failed`;

test('negotiation hints: an IKE algorithm charon cannot run names the missing plugin package', (t) => {
  t.regex(negotiationHints(NO_GCM_LOG).join(), /gcm \(or openssl\) plugin: install libstrongswan-standard-plugins/);
  t.regex(negotiationHints('ipsec up: key derivation failed').join(), /libstrongswan-standard-plugins/, "from `ipsec up`'s output alone too");
});

// `ipsec listplugins` (stroke's format: "name:", provided features indented by 4, their
// dependencies by 8, " (not loaded)" when a dependency is missing).
const plugins = (extra: string) => `
List of loaded Plugins:

charon:
    CUSTOM:libcharon
        NONCE_GEN
aes:
    CRYPTER:AES_CBC-16
    CRYPTER:AES_CBC-32
sha2:
    HASHER:HASH_SHA256
${extra}kernel-netlink:
    CUSTOM:kernel-ipsec
`;
const GCM = `gcm:
    AEAD:AES_GCM_16-16
        CRYPTER:AES_CBC-16
    AEAD:AES_GCM_16-32
        CRYPTER:AES_CBC-32
`;

test("ikeCryptoProblem: charon must provide AES-GCM-256 for ovs-monitor-ipsec's IKE proposal", (t) => {
  t.is(ikeCryptoProblem(plugins(GCM)), undefined);
  t.is(ikeCryptoProblem(plugins('openssl:\n    AEAD:AES_GCM_16-32\n        CRYPTER:AES_CBC-32\n')), undefined, 'the openssl plugin does it too');
  const missing = ikeCryptoProblem(plugins(''));
  t.regex(missing ?? '', /no AES-GCM \(AEAD:AES_GCM_16-32\).*aes256gcm16.*apt-get install libstrongswan-standard-plugins.*systemctl restart openvswitch-ipsec/);
  t.regex(missing ?? '', /loaded plugins: charon aes sha2 kernel-netlink$/);
  t.truthy(ikeCryptoProblem(plugins(GCM.replace('AEAD:AES_GCM_16-32\n', 'AEAD:AES_GCM_16-32 (not loaded)\n'))), 'provided but not loaded');
  t.truthy(ikeCryptoProblem(plugins('ccm:\n    AEAD:AES_CCM_16-16\n        AEAD:AES_GCM_16-32\n')), 'only a dependency, not provided');
  t.is(ikeCryptoProblem(''), undefined, 'nothing to judge from');
  t.is(ikeCryptoProblem('ipsec: unknown command listplugins'), undefined, 'not strongSwan: nothing to judge from');
});

test("charonLogTail: the lab's log file on a simulated host, charon's journal on a machine's own service", async (t) => {
  const ex = fake((argv) => ({ stdout: argv[0] === 'journalctl' ? 'journal line\n' : 'file line\n' }));
  t.is(await charonLogTail({ exec: ex, ns: 'gl-t-h', ipsecDir: '/run/x/ipsec-h' }, 50), 'file line');
  t.deepEqual(ex.calls[0]!.argv, ['tail', '-n', '50', ipsecPaths('/run/x/ipsec-h').charonLog]);
  t.is(await charonLogTail({ exec: ex, ns: '' }, 200), 'journal line');
  t.deepEqual(ex.calls[1]!.argv, ['journalctl', '-q', '--no-pager', '-b', '-o', 'cat', '-t', 'charon', '-n', '200']);
  await charonLogTail({ exec: ex, ns: '' }, 10, true);
  t.true(ex.calls[2]!.argv.includes('short-iso'));
  const none = fake(() => ({ exitCode: 1, stderr: 'journalctl: not found' }));
  t.is(await charonLogTail({ exec: none, ns: '' }, 10), '', 'no journal: nothing, not an error');
});

test('the OVSDB transaction that sets a PSK: replaces psk and ipsec_esp, names the port', (t) => {
  t.deepEqual(pskTransaction('tun0', secret('k'), 'aes128-sha1-modp2048'), [
    'Open_vSwitch',
    { op: 'mutate', table: 'Interface', where: [['name', '==', 'tun0']], mutations: [['options', 'delete', ['set', ['psk', 'ipsec_esp']]]] },
    { op: 'mutate', table: 'Interface', where: [['name', '==', 'tun0']], mutations: [['options', 'insert', ['map', [['psk', 'k'], ['ipsec_esp', 'aes128-sha1-modp2048']]]]] },
  ]);
});

/** A scripted executor: records argv and stdin, answers from a function. */
function fake(answer: (argv: string[], input?: string) => Partial<RunResult>): Executor & { calls: { argv: string[]; input?: string }[] } {
  const calls: { argv: string[]; input?: string }[] = [];
  return {
    where: 'local',
    calls,
    async run(argv: readonly string[], o: RunOptions = {}) {
      calls.push({ argv: [...argv], ...(o.input !== undefined ? { input: o.input } : {}) });
      return { argv: [...argv], exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, ...answer([...argv], o.input) };
    },
    start() {
      throw new Error('not used');
    },
  };
}
const step = (op: Step['op']): Step => ({ id: 1, subject: 'tunnel "tun0" on host "box-1" IPsec', host: 'box-1', op, undo: null });
const policies = [{ sel: { src: '192.0.2.11', dst: '192.0.2.12', proto: 'gre' as const }, dir: 'out' as const, reqid: 7 }];

test('xfrm.add: one ip -batch per line, the line on stdin (keys never in argv); a clash takes out what went in and names the object', async (t) => {
  const ok = fake(() => ({}));
  await new IpsecRunner(ok).run(step({ op: 'xfrm.add', ns: 'gl-t-box-1', states: [gcm], policies }));
  t.deepEqual(ok.calls.map((c) => c.argv), [['ip', '-n', 'gl-t-box-1', '-batch', '-'], ['ip', '-n', 'gl-t-box-1', '-batch', '-']]);
  t.is(ok.calls[0]!.input, stateAddLine(gcm) + '\n');
  t.false(ok.calls.some((c) => c.argv.join(' ').includes('1111')));
  // ip's xfrm commands exit at the first failure without naming the line: one process per line tells.
  const clash = fake((argv, input) => (input?.includes('policy add') ? { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' } : {}));
  const e = await t.throwsAsync(new IpsecRunner(clash).run(step({ op: 'xfrm.add', ns: 'gl-t-box-1', states: [gcm], policies })), { instanceOf: OpError });
  t.regex(e!.message, /an XFRM policy like this one already exists there and is not the lab's \(policy out 192\.0\.2\.11 → 192\.0\.2\.12 gre\)/);
  t.deepEqual(clash.calls[2]!.argv, ['ip', '-n', 'gl-t-box-1', 'xfrm', 'state', 'delete', 'src', '192.0.2.11', 'dst', '192.0.2.12', 'proto', 'esp', 'spi', '0x00001001'], 'only the state that went in');
  t.is(clash.calls.length, 3);
});

test('xfrm.del: exactly the lab\'s policies and states; already gone is fine, another error is not', async (t) => {
  const gone = fake(() => ({ exitCode: 2, stderr: 'RTNETLINK answers: No such file or directory\n' }));
  await new IpsecRunner(gone).run(step({ op: 'xfrm.del', ns: '', states: [{ src: '192.0.2.11', dst: '192.0.2.12', spi: 0x1001 }], policies: [{ sel: policies[0]!.sel, dir: 'out' }] }));
  t.deepEqual(gone.calls.map((c) => c.argv.join(' ')), ['ip xfrm policy delete src 192.0.2.11/32 dst 192.0.2.12/32 proto gre dir out', 'ip xfrm state delete src 192.0.2.11 dst 192.0.2.12 proto esp spi 0x00001001']);
  const denied = fake((argv) => (argv.includes('policy') ? { exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' } : { exitCode: 2, stderr: 'RTNETLINK answers: No such process\n' }));
  await t.throwsAsync(new IpsecRunner(denied).run(step({ op: 'xfrm.del', ns: '', states: [{ src: '192.0.2.11', dst: '192.0.2.12', spi: 0x1001 }], policies: [{ sel: policies[0]!.sel, dir: 'out' }] })), { message: /policy delete .*Operation not permitted/ });
});

test('ipsec.psk: the PSK goes to the database on stdin, never in an argv', async (t) => {
  const ex = fake(() => ({ stdout: JSON.stringify({ result: [{ count: 1 }, { count: 1 }], error: null }) }));
  await new IpsecRunner(ex).run(step({ op: 'ipsec.psk', ns: 'gl-t-box-1', db: '/run/x/db.sock', port: 'tun0', psk: secret('hunter2'), ipsecDir: '/run/x/ipsec-box-1' }));
  t.is(ex.calls.length, 1);
  t.false(ex.calls[0]!.argv.join(' ').includes('hunter2'));
  t.true(ex.calls[0]!.input!.includes('hunter2'));
  const missing = fake(() => ({ stdout: JSON.stringify({ result: [{ count: 0 }, { count: 0 }], error: null }) }));
  await t.throwsAsync(new IpsecRunner(missing).run(step({ op: 'ipsec.psk', ns: '', db: '/run/x/db.sock', port: 'tun9', psk: secret('hunter2') })), { message: /no Interface named "tun9".*|[\s\S]*options:psk=<redacted>/ });
});

test('ipsec.psk on an SSH host: refused when the machine\'s openvswitch-ipsec is not running (nothing would negotiate)', async (t) => {
  const ex = fake((argv) => (argv[0] === 'pgrep' ? { exitCode: 1 } : { stdout: JSON.stringify({ result: [{ count: 1 }, { count: 1 }] }) }));
  await t.throwsAsync(new IpsecRunner(ex).run(step({ op: 'ipsec.psk', ns: '', db: '/var/run/openvswitch/db.sock', port: 't-tun0', psk: secret('hunter2') })), {
    message: /openvswitch-ipsec service \(ovs-monitor-ipsec\) is not running.*systemctl start openvswitch-ipsec/,
  });
  t.is(ex.calls.length, 1, 'the database was not touched');
});

test("ipsec.psk on an SSH host: refused when the machine's charon cannot run OVS's AES-GCM proposal (IKE would never complete)", async (t) => {
  const db = JSON.stringify({ result: [{ count: 1 }, { count: 1 }] });
  const noGcm = fake((argv) => (argv[0] === 'ipsec' ? { stdout: plugins('') } : { stdout: db }));
  const op = { op: 'ipsec.psk' as const, ns: '', db: '/var/run/openvswitch/db.sock', port: 't-tun0', psk: secret('hunter2') };
  await t.throwsAsync(new IpsecRunner(noGcm).run(step(op)), { instanceOf: OpError, message: /libstrongswan-standard-plugins[\s\S]*request: ipsec listplugins/ });
  t.deepEqual(noGcm.calls.map((c) => c.argv[0]), ['pgrep', 'ipsec'], 'the database was not touched');
  const gcm = fake((argv) => (argv[0] === 'ipsec' ? { stdout: plugins(GCM) } : { stdout: db }));
  await new IpsecRunner(gcm).run(step(op));
  t.is(gcm.calls.length, 3, 'pgrep, ipsec listplugins, then the PSK');
  // A simulated host's own charon (ipsecDir) is the lab's: not asked.
  const local = fake(() => ({ stdout: db }));
  await new IpsecRunner(local).run(step({ ...op, ipsecDir: '/run/x/ipsec-box-1' }));
  t.false(local.calls.some((c) => c.argv.includes('listplugins')));
});
