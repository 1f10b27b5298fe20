import { NFT } from '../plan/nft.js';

/**
 * The two tools both backends run as processes for link tuning and router firewalls, with their
 * argv and how to read their answers: `ethtool -K` (offloads) and `nft` (a router's rules).
 *
 * ethtool -K exits 0 when it changed *some* features even if the device kept others as they were
 * ("Actual changes: … tx-udp_tnl-segmentation: off [requested on]"), so success is read from what
 * it printed, never from the exit code alone: a feature the device cannot change is an error that
 * names it, with what was asked and what the device has.
 */
export function ethtoolKArgv(dev: string, features: Record<string, boolean>): string[] {
  return ['ethtool', '-K', dev, ...Object.entries(features).flatMap(([k, v]) => [k, v ? 'on' : 'off'])];
}

/**
 * Why `ethtool -K` did not do what was asked, or undefined when it did. Reads the "[requested …]"
 * lines of its stdout (features it could not change; "[fixed]" ones never change) and its stderr.
 *
 * A short name (`tx`, `tso`, `gro`…) stands for a group of features, some of which a device may
 * keep fixed while the group changes (`tx on` on a veth turns tx-checksum-ip-generic on and leaves
 * tx-checksum-ipv4 off "[requested on]"): only features the caller named in full count as refused.
 * A group of which nothing changed makes ethtool fail ("Could not change any device features").
 */
export function ethtoolKRefusal(stdout: string, stderr: string, exitCode: number, requested?: Record<string, boolean>): string | undefined {
  const named = (f: string) => requested === undefined || f in requested;
  const refused = [...stdout.matchAll(/^\s*([\w-]+): (on|off)(?: \[fixed\])? \[requested (on|off)\]/gm)].filter((m) => named(m[1]!)).map(
    (m) => `${m[1]} stays ${m[2]} (asked ${m[3]}; the device cannot change it)`,
  );
  if (refused.length) return `the device refused: ${refused.join('; ')}`;
  if (exitCode === 0) return undefined;
  const err = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Command failed /.test(l));
  if (err.some((l) => /bit name not found/.test(l))) return `ethtool does not know a feature name (${err.join('; ')}); see \`ethtool -k DEV\` for the names this kernel has`;
  if (err.some((l) => /Could not change any device features/.test(l))) return 'the device could not change any of the requested features (they are fixed for this device type)';
  return err.join('; ') || `ethtool exited with ${exitCode}`;
}


/** `nft` commands for an nft.rules op: the table, the chain with its hook, one rule per list. */
export function nftRulesArgv(op: { table: string; chain: { name: string; hook: string; priority: number }; rules: string[][] }): string[][] {
  // The system's nft, never node_modules/.bin's (lib/plan/nft.ts NFT says why).
  return [
    [...NFT, 'add', 'table', 'inet', op.table],
    [...NFT, 'add', 'chain', 'inet', op.table, op.chain.name, `{ type filter hook ${op.chain.hook} priority ${op.chain.priority} ; }`],
    ...op.rules.map((r) => [...NFT, 'add', 'rule', 'inet', op.table, op.chain.name, ...r]),
  ];
}
