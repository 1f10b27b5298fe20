/**
 * Real OVS port counters: a private ovsdb-server + ovs-vswitchd (userspace datapath) in a
 * namespace, a netdev bridge with two veth ports, ping across it, read the ports' statistics.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalExecutor } from '../../../lib/exec/executor.js';
import { readOvsStats } from '../../../lib/stats/ovsstats.js';
import { privTest, randomLabName } from '../../support/priv.js';
import { deleteNamespaces } from '../../support/scratch.js';

const run = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe', encoding: 'utf8' });

privTest('OVS userspace port counters grow while pinging across the bridge', async (t) => {
  const name = randomLabName('uo');
  const [h, a, b] = ['h', 'a', 'b'].map((x) => `gl-${name}-${x}`) as [string, string, string];
  const dir = mkdtempSync(path.join(tmpdir(), `gl-${name}-`));
  const db = `unix:${dir}/db.sock`;
  const vsctl = ['ovs-vsctl', `--db=${db}`];
  t.teardown(() => {
    // Stop our daemons by their own control sockets / pidfiles, then remove namespaces and files.
    for (const [ctl, pid] of [['vs.ctl', 'vs.pid'], ['db.ctl', 'db.pid']]) {
      try {
        run(['ovs-appctl', '-t', `${dir}/${ctl}`, 'exit']);
      } catch {
        try {
          process.kill(Number(readFileSync(`${dir}/${pid}`, 'utf8').trim()), 'SIGKILL');
        } catch {
          // not running
        }
      }
    }
    deleteNamespaces([h, a, b]);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const ns of [h, a, b]) run(['ip', 'netns', 'add', ns]);
  run(['ovsdb-tool', 'create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
  run(['ip', 'netns', 'exec', h, 'ovsdb-server', `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/db.pid`, `--unixctl=${dir}/db.ctl`, `--log-file=${dir}/db.log`, '--detach']);
  run([...vsctl, '--no-wait', 'init']);
  // Counters every second instead of the default 5 s, as the TUI wants.
  run([...vsctl, '--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:stats-update-interval=1000']);
  run(['ip', 'netns', 'exec', h, 'ovs-vswitchd', db, `--pidfile=${dir}/vs.pid`, `--unixctl=${dir}/vs.ctl`, `--log-file=${dir}/vs.log`, '--detach']);
  run(['ip', '-n', h, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'ea', 'netns', a]);
  run(['ip', '-n', h, 'link', 'add', 'pb', 'type', 'veth', 'peer', 'name', 'eb', 'netns', b]);
  for (const l of ['pa', 'pb']) run(['ip', '-n', h, 'link', 'set', l, 'up']);
  run(['ip', '-n', a, 'addr', 'add', '192.0.2.1/24', 'dev', 'ea']);
  run(['ip', '-n', b, 'addr', 'add', '192.0.2.2/24', 'dev', 'eb']);
  run(['ip', '-n', a, 'link', 'set', 'ea', 'up']);
  run(['ip', '-n', b, 'link', 'set', 'eb', 'up']);
  run([...vsctl, 'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', '--', 'add-port', 'br0', 'pa', '--', 'add-port', 'br0', 'pb']);

  const exec = new LocalExecutor();
  const before = (await readOvsStats(exec, vsctl, h)).find((l) => l.ifname === 'pa');
  t.truthy(before, 'port pa is listed');
  const ping = await exec.run(['ip', 'netns', 'exec', a, 'ping', '-c', '10', '-i', '0.1', '-s', '1000', '-q', '192.0.2.2'], { timeoutMs: 15_000 });
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  // Wait for OVS's next statistics refresh (bounded).
  let after = before!;
  for (let i = 0; i < 30 && after.rxPackets - before!.rxPackets < 10; i++) {
    await new Promise((r) => setTimeout(r, 250));
    after = (await readOvsStats(exec, vsctl, h)).find((l) => l.ifname === 'pa')!;
  }
  t.true(after.rxPackets - before!.rxPackets >= 10, `rx packets ${before!.rxPackets} → ${after.rxPackets}`);
  t.true(after.rxBytes - before!.rxBytes >= 10 * 1042);
  t.is(after.errors.rx_errors, 0);
}, { tools: ['ovs-vsctl', 'ovsdb-server', 'ovs-vswitchd', 'ovs-appctl', 'ovsdb-tool', 'ping'] });
