/**
 * SSH-lab benchmark (issue 8): time `geneve-lab up` (and `down`) of a chain lab whose N hosts are
 * real OpenSSH servers in namespaces on this machine (test/support/sshd.ts), and count the SSH
 * connections each command opened on each host (from the servers' logs; expected: 1).
 *
 *   sudo node --import tsx bench/ssh-labs.ts            # N = 2 and 10
 *   sudo node --import tsx bench/ssh-labs.ts 2 5 10     # other sizes
 *
 * Each lab: host box-i (198.51.100.(10+i)), a Linux bridge and one guest on it, VXLAN tunnels
 * between neighbours, one ping check from the first guest to the last (run by `up`, timed apart
 * from the build by the engine's own duration). Everything is removed even on failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSshLab } from '../test/support/sshd.js';
import { chainRecipe, cliIn } from '../test/support/ssh-recipes.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n >= 2);
const rows: string[] = [];
for (const n of sizes.length ? sizes : [2, 10]) {
  const tag = randomBytes(2).toString('hex');
  const ssh = await startSshLab(`bs${tag}`, n);
  const dir = mkdtempSync(join(tmpdir(), 'gl-sshbench-'));
  const lab = `bl${tag}`;
  const state = ['--state-dir', join(dir, 'state')];
  try {
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, chainRecipe({ lab, hosts: n, ssh, checks: `  - name: ends\n    ping: { from: g1, to: g${n}, count: 2 }` }));
    const load = loadavg()[0]!.toFixed(1);
    const up = cliIn(ssh.clientNs, [...state, 'up', file, '--json'], 900_000);
    if (up.code !== 0) throw new Error(`up of ${n} hosts failed (${up.code}): ${up.stdout}\n${up.stderr}`);
    const out = JSON.parse(up.stdout) as { up: { applied: number; duration_ms: number }; checks: { status: string }[] };
    const perHost = await Promise.all(ssh.boxes.map(async (b) => (await ssh.acceptedConnections(b.name)).length));
    const down = cliIn(ssh.clientNs, [...state, 'down', lab, '--json'], 900_000);
    if (down.code !== 0) throw new Error(`down of ${n} hosts failed: ${down.stdout}\n${down.stderr}`);
    rows.push(
      `| ${n} | ${out.up.applied} | ${(out.up.duration_ms / 1000).toFixed(1)} s | ${(up.ms / 1000).toFixed(1)} s | ${(down.ms / 1000).toFixed(1)} s | ` +
        `${out.checks.map((c) => c.status).join(', ')} | ${[...new Set(perHost)].join('/')} | ${load} |`,
    );
    process.stderr.write(`${n} hosts: ${rows.at(-1)}\n`);
  } finally {
    cliIn(ssh.clientNs, [...state, 'down', lab]);
    await ssh.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(
  [
    '| SSH hosts | steps | build (engine) | `up` wall (incl. connect, discovery, ping check) | `down` wall | check | SSH connections per host during `up` | load avg (1 min) at start |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n') + '\n',
);
