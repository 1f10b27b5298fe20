/**
 * Flow-program benchmark (issue 13): install N flows (default 1000) on one OVS switch the way
 * `up` does — the planner's commands for `flows:` (lib/plan/ovs-program.ts: `del-flows`, then ONE
 * `ovs-ofctl add-flows BRIDGE -` fed on stdin) run through OvsInstance.apply — and, for scale,
 * the naive way: one `ovs-ofctl add-flow` process per flow. Each method gets a fresh bridge on
 * the same OVS instance (own daemons in a throw-away namespace, userspace datapath), and the
 * installed table is counted afterwards. Prints a markdown table with the date and load average.
 *
 *   sudo npx tsx bench/ovs-flows.ts            # N = 1000, 3 repetitions
 *   sudo npx tsx bench/ovs-flows.ts 1000 5     # N, repetitions
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LocalExecutor } from '../lib/exec/executor.js';
import { startOvs } from '../lib/ovs/daemons.js';
import { bridgeCommands, transaction } from '../lib/ovs/vsctl.js';
import { programCommands } from '../lib/plan/ovs-program.js';
import type { Switch } from '../lib/model/types.js';

const n = Number(process.argv[2] ?? 1000);
const repeat = Number(process.argv[3] ?? 3);
const ns = `ovsbench-${randomBytes(3).toString('hex')}`;
const runDir = mkdtempSync('/tmp/glfb-');
const exec = new LocalExecutor();

const flows = Array.from({ length: n }, (_, i) => `table=0,priority=${100 + (i % 100)},tcp,nw_dst=198.51.100.${1 + (i % 250)},tp_dst=${1024 + i},actions=drop`);

function count(bridge: string): number {
  const out = execFileSync('ovs-ofctl', ['dump-aggregate', bridge], { env: { ...process.env, OVS_RUNDIR: runDir }, encoding: 'utf8' });
  return Number(/flow_count=(\d+)/.exec(out)?.[1] ?? NaN);
}

async function main() {
  execFileSync('ip', ['netns', 'add', ns]);
  const ovs = await startOvs({ exec, ns, runDir, tag: 'bench' });
  const rows: string[] = [];
  try {
    for (let r = 1; r <= repeat; r++) {
      for (const method of ['one add-flows process (what up does)', 'one add-flow process per flow'] as const) {
        const bridge = `fb${r}${method.startsWith('one add-flows') ? 'a' : 'b'}`;
        await ovs.vsctl(transaction(bridgeCommands({ name: bridge, datapath: 'netdev', lab: 'bench' })));
        const sw: Switch = {
          name: bridge, host: 'h', kind: 'ovs', ifname: bridge, addresses: [],
          program: { tlvMap: [], groups: [], meters: [], flows: flows.map((text) => ({ text, source: text, at: '' })) },
        };
        const started = process.hrtime.bigint();
        if (method.startsWith('one add-flows')) await ovs.apply(programCommands(sw), `bench ${bridge}`);
        else {
          await ovs.ofctl(['del-flows', bridge]);
          for (const f of flows) await ovs.ofctl(['add-flow', bridge, f]);
        }
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const installed = count(bridge);
        if (installed !== n) throw new Error(`${bridge}: ${installed} flows installed, expected ${n}`);
        rows.push(`| ${r} | ${method} | ${n} | ${installed} | ${(ms / 1000).toFixed(2)} | ${loadavg()[0]!.toFixed(1)} |`);
        await ovs.vsctl(['--if-exists', 'del-br', bridge]);
      }
    }
  } finally {
    await ovs.stop().catch(() => {});
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(runDir, { recursive: true, force: true });
  }
  const ovsVersion = execFileSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  console.log(`${new Date().toISOString()} — ${ovsVersion}, userspace datapath, ${n} flows`);
  console.log('| run | method | flows | installed | seconds | load avg (1 min) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
