/**
 * Scale without static configuration: recipes/ovn-chassis10.yaml — ten OVN chassis on this
 * machine's userspace datapath and no tunnel in the recipe. ovn-controller builds N − 1 = 9
 * Geneve ports on every chassis (checked against the other chassis' addresses), and every guest
 * pings every other (90 pings). Then nothing is left.
 */
import { spawnSync } from 'node:child_process';
import { privTest } from '../../support/priv.js';
import { CLI_ARGV, ROOT } from '../../support/cli.js';
import { NOTHING_LEFT, leftovers, recipeCopy } from '../ovs-recipes/support.js';
import { OVN_TOOLS, daemonsMentioning } from './support.js';

privTest('10 OVN chassis, no tunnel written: 9 Geneve ports per chassis built by ovn-controller, full-mesh ping over the logical switch', (t) => {
  t.timeout(20 * 60_000);
  const c = recipeCopy(t, 'ovn-chassis10.yaml');
  // Its own timeout: ten OVS + OVN chassis on two shared cores take a while (`cli` allows 180 s).
  const r = spawnSync(process.execPath, [...CLI_ARGV, '--state-dir', c.stateDir, 'run', '--json', '--verbose', c.file], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
  t.is(r.status, 0, `${r.stderr}\n${r.stdout.slice(0, 4000)}`);
  const checks = (JSON.parse(r.stdout) as { checks: { name: string; status: string; message?: string; figures: Record<string, unknown> }[] }).checks;
  // 90 pings, the mesh check, and the vswitchd log gate of each of the 10 chassis (issue 14).
  t.is(checks.length, 102);
  t.is(checks.filter((x) => x.name.startsWith('vswitchd-log ')).length, 10);
  t.deepEqual(checks.filter((x) => x.status !== 'passed').map((x) => `${x.name}: ${x.message}`), []);
  t.deepEqual(checks.find((x) => x.name === 'mesh')!.figures, { chassis: 10, tunnel_ports: 90, per_chassis: 9 });
  t.is(checks.filter((x) => x.name.startsWith('full-mesh ')).length, 90);
  t.regex(r.stderr, /OVN control plane converged: 10 chassis registered, 10 logical ports up/);
  t.deepEqual(leftovers(c), NOTHING_LEFT);
  t.deepEqual(daemonsMentioning(c.stateDir), []);
}, OVN_TOOLS);
