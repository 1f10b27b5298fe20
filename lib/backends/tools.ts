import { accessSync, constants } from 'node:fs';
import { isAbsolute, join } from 'node:path';

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
 */
export function ethtoolKRefusal(stdout: string, stderr: string, exitCode: number): string | undefined {
  const refused = [...stdout.matchAll(/^\s*([\w-]+): (on|off)(?: \[fixed\])? \[requested (on|off)\]/gm)].map(
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

/**
 * The system's program `name` as an absolute path, found on PATH outside node_modules/.bin; the
 * bare name when there is none (the run then fails with "not found", as it should). Needed for
 * `nft`: under npx or an npm script PATH starts with node_modules/.bin, and ava's dependency
 * @vercel/nft installs a `nft` there (a Node file tracer), which `ip netns exec NS nft` would run.
 */
export function systemProgram(name: string, path = process.env.PATH ?? ''): string {
  const hit = cache.get(`${path}\0${name}`);
  if (hit) return hit;
  let found = name;
  for (const dir of path.split(':')) {
    if (!dir || !isAbsolute(dir) || /(^|\/)node_modules\/\.bin\/?$/.test(dir)) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      found = join(dir, name);
      break;
    } catch {
      // not here
    }
  }
  cache.set(`${path}\0${name}`, found);
  return found;
}
const cache = new Map<string, string>();

/** `nft` commands for an nft.rules op: the table, the chain with its hook, one rule per list. */
export function nftRulesArgv(op: { table: string; chain: { name: string; hook: string; priority: number }; rules: string[][] }): string[][] {
  const nft = systemProgram('nft');
  return [
    [nft, 'add', 'table', 'inet', op.table],
    [nft, 'add', 'chain', 'inet', op.table, op.chain.name, `{ type filter hook ${op.chain.hook} priority ${op.chain.priority} ; }`],
    ...op.rules.map((r) => [nft, 'add', 'rule', 'inet', op.table, op.chain.name, ...r]),
  ];
}
