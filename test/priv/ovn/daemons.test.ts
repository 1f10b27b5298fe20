/**
 * The OVN daemon layer against real daemons, without the engine: a central and one chassis in
 * namespaces of this test. Stopping a chassis' ovn-controller removes its chassis record (and
 * its tunnel ports) from the still running SB; gc finds a crashed lab's OVN daemons by their
 * marker and stops exactly those; a run directory without the marker is never removed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { privTest, randomLabName } from '../../support/priv.js';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { startOvs, type OwnedOvs } from '../../../lib/ovs/index.js';
import { findOvnDaemons, startCentral, startController, stopController, stopFoundOvn } from '../../../lib/ovn/daemons.js';
import { sbctlArgv } from '../../../lib/ovn/commands.js';
import { OVN_TOOLS, daemonsMentioning, netnsId } from './support.js';

const exec = new LocalExecutor();
const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

privTest('stopping ovn-controller removes its chassis record from the running SB; gc stops the rest by marker and leaves unmarked directories alone', async (t) => {
  t.timeout(5 * 60_000);
  const tag = randomLabName('ovnd');
  const root = `/tmp/gl-ovnd-${tag}`;
  const [nsC, nsH] = [`${tag}-c`, `${tag}-h`];
  let ovs: OwnedOvs | undefined;
  t.teardown(async () => {
    for (const f of await findOvnDaemons(exec, root)) await stopFoundOvn(exec, f).catch(() => {});
    await ovs?.stop().catch(() => {});
    for (const ns of [nsC, nsH]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    execFileSync('rm', ['-rf', '--', root]);
  });
  for (const ns of [nsC, nsH]) sh(['ip', 'netns', 'add', ns]);
  ovs = await startOvs({ exec, ns: nsH, runDir: `${root}/ovs-h`, tag, label: 'test OVS' });
  await startCentral({ exec, ns: nsC, runDir: `${root}/ovn-central`, label: 'test central' });
  // The chassis reaches the SB through its unix socket (the central has no interface here).
  await ovs.vsctl(['set', 'Open_vSwitch', '.', 'external_ids:system-id=h', `external_ids:ovn-remote=unix:${root}/ovn-central/sb.sock`, 'external_ids:ovn-encap-type=geneve', 'external_ids:ovn-encap-ip=192.0.2.9', 'external_ids:ovn-bridge=br-int', 'external_ids:ovn-bridge-datapath-type=netdev']);
  await startController({ exec, ns: nsH, runDir: `${root}/ovn-h`, ovsRunDir: `${root}/ovs-h`, label: 'test chassis' });

  const chassis = () => sh(sbctlArgv(`${root}/ovn-central`, ['--bare', '--columns=name', 'list', 'Chassis'])).trim();
  for (let i = 0; i < 100 && chassis() !== 'h'; i++) await new Promise((r) => setTimeout(r, 100));
  t.is(chassis(), 'h', 'the chassis registered');
  const ds = daemonsMentioning(root);
  t.deepEqual(ds.filter((d) => d.comm === 'ovn-controller').map((d) => d.netns), [netnsId(nsH)], 'ovn-controller runs in the chassis namespace');
  t.deepEqual([...new Set(ds.filter((d) => /ovn-northd|ovsdb-server/.test(d.comm) && d.args.includes('ovn-central')).map((d) => d.netns))], [netnsId(nsC)]);

  await stopController(exec, `${root}/ovn-h`);
  t.is(chassis(), '', 'its chassis record is gone while the SB still runs');
  t.false(existsSync(`${root}/ovn-h`));

  // A directory that looks like an OVN run dir but has no marker: never touched.
  mkdirSync(`${root}/not-ours`, { recursive: true });
  writeFileSync(`${root}/not-ours/ovn-controller.pid`, String(process.pid));
  const found = await findOvnDaemons(exec, root);
  t.deepEqual(found.map((f) => [f.runDir, f.kind, f.daemons.map((d) => [d.name, d.running])]), [
    [`${root}/ovn-central`, 'central', [['ovn-northd', true], ['ovsdb-server (NB)', true], ['ovsdb-server (SB)', true]]],
  ]);
  for (const f of found) await stopFoundOvn(exec, f);
  t.deepEqual(daemonsMentioning(`${root}/ovn-central`), []);
  t.false(existsSync(`${root}/ovn-central`));
  t.true(existsSync(`${root}/not-ours/ovn-controller.pid`));
  t.notThrows(() => process.kill(process.pid, 0), 'a pid named by a foreign pidfile was not signalled');
}, OVN_TOOLS);
