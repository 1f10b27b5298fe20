/**
 * Daemon lifecycle and ownership against real daemons: gc finds a crashed lab's daemons by
 * their pidfiles, an attached service keeps the user's own bridge, Interface.error surfaces.
 */
import { existsSync } from 'node:fs';
import { privTest, randomLabName } from '../../support/priv.js';
import { ApplyError, OpError } from '../../../lib/errors.js';
import {
  attachOvs,
  bridgeCommands,
  chooseDatapath,
  findOvsDaemons,
  ipsecGreSupport,
  portCommands,
  probeDatapath,
  startOvs,
  stopFoundOvs,
  transaction,
  type OwnedOvs,
} from '../../../lib/ovs/index.js';
import { daemonsUnder, exec, labEngine, ovsTwoHostRecipe, sh, stateDirFor } from './two-hosts.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { netnsList } from '../../support/oracle.js';
import type { Engine } from '../../../lib/engine/engine.js';

const TOOLS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl'] };

/** One namespace with OVS started in it; everything removed on teardown. */
async function oneHost(t: import('ava').ExecutionContext, tag = randomLabName('ov')) {
  const ns = `${tag}-h`;
  const root = `/tmp/gl-ovs-${tag}`;
  let ovs: OwnedOvs | undefined;
  t.teardown(async () => {
    await ovs?.stop().catch(() => {});
    for (const f of await findOvsDaemons(exec, root)) await stopFoundOvs(exec, f).catch(() => {});
    sh(['ip', 'netns', 'del', ns], { allowFail: true });
    sh(['rm', '-rf', '--', root], { allowFail: true });
  });
  sh(['ip', 'netns', 'add', ns]);
  ovs = await startOvs({ exec, ns, runDir: `${root}/h`, tag, label: `OVS on ${ns}` });
  return { ns, root, tag, ovs };
}

privTest('ovs: daemons run inside the namespace; gc finds and stops a crashed lab from its pidfiles', async (t) => {
  const { ns, root, ovs } = await oneHost(t);
  const pids = daemonsUnder(ovs.paths.runDir);
  t.is(pids.length, 2, 'ovsdb-server and ovs-vswitchd running');
  // Both processes live in the host namespace, not the root one.
  const nsIds = pids.map((p) => sh(['ip', 'netns', 'identify', p]).trim());
  t.deepEqual(nsIds, [ns, ns]);

  // "Crash": forget the instance object; gc must work from the files alone.
  const found = await findOvsDaemons(exec, root);
  t.is(found.length, 1);
  t.is(found[0]!.runDir, ovs.paths.runDir);
  t.deepEqual(found[0]!.daemons.map((d) => [d.name, d.running]), [['ovs-vswitchd', true], ['ovsdb-server', true]]);
  await stopFoundOvs(exec, found[0]!);
  t.deepEqual(daemonsUnder(ovs.paths.runDir), []);
  t.false(existsSync(ovs.paths.runDir));
  t.deepEqual(await findOvsDaemons(exec, root), []);
}, TOOLS);

privTest('ovs: attached service — lab objects are tagged and removed; the user\'s own bridge survives', async (t) => {
  // Stand-in for a host's running OVS service: daemons in a namespace, attached by socket.
  const { ovs: service } = await oneHost(t, randomLabName('svc'));
  await service.vsctl(['add-br', 'userbr', '--', 'set', 'Bridge', 'userbr', 'datapath_type=netdev', '--', 'add-port', 'userbr', 'userp', '--', 'set', 'Interface', 'userp', 'type=internal']);

  const lab = randomLabName('ov');
  const attached = await attachOvs({ exec, lab, dbSocket: service.dbSocket, vswitchdCtl: service.paths.vswitchdCtl, runDir: service.paths.runDir });
  await attached.vsctl(
    transaction([
      ...bridgeCommands({ name: 'labbr', datapath: 'netdev', lab }),
      ...portCommands({ bridge: 'labbr', name: 'labp1', lab, type: 'internal' }),
      ...portCommands({ bridge: 'userbr', name: 'labp2', lab, type: 'internal' }),
    ]),
  );
  t.deepEqual(await attached.labObjects(), { bridges: ['labbr'], ports: ['labp1', 'labp2'] });

  await attached.stop(); // attached: removes only the lab's objects, never stops the service
  const db = `--db=unix:${service.dbSocket}`;
  t.deepEqual(sh(['ovs-vsctl', db, 'list-br']).split('\n').filter(Boolean), ['userbr']);
  t.deepEqual(sh(['ovs-vsctl', db, 'list-ports', 'userbr']).split('\n').filter(Boolean), ['userp']);
  t.is(daemonsUnder(service.paths.runDir).length, 2, 'the service keeps running');
}, TOOLS);

privTest('ovs: an error OVS records in Interface.error is surfaced with the port name and the port removed again', async (t) => {
  const { ovs, tag } = await oneHost(t);
  await ovs.vsctl(transaction(bridgeCommands({ name: 'br-int', datapath: 'netdev', lab: tag })));
  const base = { bridge: 'br-int', type: 'geneve' as const, lab: tag, remoteIp: '192.0.2.2', key: 7 };
  t.deepEqual(await ovs.addTunnelPort({ ...base, name: 'gnv0' }), { warnings: [] });
  // Same (type, remote_ip, local_ip, in_key) as gnv0: OVS refuses it, only in Interface.error.
  const e = await t.throwsAsync(ovs.addTunnelPort({ ...base, name: 'gnv1' }), { instanceOf: OpError });
  t.regex(e!.message, /tunnel port "gnv1" \(geneve\) on bridge "br-int"/);
  t.regex(e!.message, /could not add network device gnv1 to ofproto \(File exists\)/);
  t.regex(e!.message, /same config as port 'gnv0'/, 'the vswitchd log line explains why');
  t.deepEqual(sh(['ovs-vsctl', `--db=unix:${ovs.dbSocket}`, 'list-ports', 'br-int']).split('\n').filter(Boolean), ['gnv0']);

  const st = await ovs.status();
  const br = st.bridges.find((b) => b.name === 'br-int')!;
  t.is(br.lab, tag);
  t.deepEqual(br.ports.find((p) => p.name === 'gnv0')!.interfaces[0]!.options, { key: '7', remote_ip: '192.0.2.2' });
  t.deepEqual(st.tunnels.map((x) => x.udpPort), [6081]);

}, TOOLS);

privTest('ovs: a lab whose tunnel port OVS rejects (Interface.error) fails up naming the tunnel, host and port, and is rolled back', async (t) => {
  const lab = randomLabName('ov');
  let engine: Engine | undefined;
  const stateDir = stateDirFor(t, lab, () => engine);
  engine = await labEngine(stateDir);
  // tun1 has the same (type, remote_ip, local_ip, key) as tun0: OVS refuses it, only in Interface.error.
  const text = ovsTwoHostRecipe(lab, { tunnel: 'type: geneve, vni: 7', extraTunnels: ['{ name: tun1, between: [sw1, sw2], type: geneve, vni: 7 }'] });
  const e = await t.throwsAsync(engine.up(loadRecipeText(text, 'two-hosts.yaml').lab), { instanceOf: ApplyError });
  t.regex(e!.message, /tunnel port "tun1" \(geneve\) on bridge "sw1" \(OVS on host "h1"\)/);
  t.regex(e!.message, /could not add network device tun1 to ofproto \(File exists\)/);
  t.regex(e!.message, /rolled back: .* nothing left behind/);
  t.deepEqual(netnsList().filter((n) => n.startsWith(`gl-${lab}-`)), [], 'rollback removed every namespace');
  t.deepEqual(daemonsUnder(stateDir), [], 'rollback stopped every OVS daemon');
}, TOOLS);

privTest('ovs: datapath is chosen from the running kernel (netdev here unless the module exists)', async (t) => {
  const probe = await probeDatapath(exec);
  const hasModule = existsSync('/sys/module/openvswitch');
  t.is(probe.moduleLoaded, hasModule);
  const choice = chooseDatapath('auto', probe);
  t.is(choice.datapath, probe.moduleLoaded || probe.moduleLoadable ? 'system' : 'netdev');
  t.log(choice.reason);
  // ipsec_gre: honest "unsupported" on the userspace datapath, whatever is installed.
  const ipsec = await ipsecGreSupport(exec, choice.datapath);
  if (choice.datapath === 'netdev') t.regex(ipsec.reason, /unsupported on the userspace \(netdev\) datapath/);
  t.log(ipsec.reason);
});
