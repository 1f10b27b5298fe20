/**
 * Scenario tests through the real CLI: a recipe text under a random lab name in its own temp dir
 * and state directory, `--json` results by name, and an oracle for leftovers. Teardown runs `down`.
 */
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_ARGV, ROOT, type CliResult } from '../../support/cli.js';
import { netnsList } from '../../support/oracle.js';
import { randomLabName } from '../../support/priv.js';
import { processesMentioning } from '../ovs-recipes/support.js';

export const OVS = { tools: ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl', 'tcpdump'] };

export interface CheckOut {
  name: string;
  kind: string;
  status: string;
  message?: string;
  figures: Record<string, unknown>;
}

export interface ScenarioLab {
  lab: string;
  dir: string;
  stateDir: string;
  /** Write a recipe (LAB is replaced by the lab name); returns its path. */
  write(name: string, text: string): string;
  g(args: string[]): CliResult;
  /** `<cmd> --json FILE`: exit code, results in order and by name. */
  json(cmd: 'run' | 'up' | 'check', file: string, extra?: string[], global?: string[]): { code: number; results: CheckOut[]; byName: Record<string, CheckOut>; out: string };
  ns(node: string): string;
  leftovers(): { namespaces: string[]; processes: string[] };
}

export function scenarioLab(t: ExecutionContext, prefix = 'sc'): ScenarioLab {
  const lab = randomLabName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `gl-scen-${lab}-`));
  const stateDir = join(dir, 'state');
  // Scenario runs are long under TCG (the kernel tier): a generous timeout, unlike support/cli.ts's.
  const g = (args: string[]): CliResult => {
    const r = spawnSync(process.execPath, [...CLI_ARGV, '--state-dir', stateDir, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 1_200_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  t.teardown(() => {
    g(['down', lab]);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    lab,
    dir,
    stateDir,
    g,
    write(name, text) {
      const f = join(dir, name);
      writeFileSync(f, text.replace(/\bLAB\b/g, lab));
      return f;
    },
    json(cmd, file, extra = [], global = []) {
      const r = g([...global, cmd, '--json', ...extra, file]);
      let results: CheckOut[] = [];
      try {
        results = (JSON.parse(r.stdout) as { checks: CheckOut[] }).checks ?? [];
      } catch {
        // not JSON: the caller's assertions show the output
      }
      return { code: r.code, results, byName: Object.fromEntries(results.map((c) => [c.name, c])), out: r.stdout + r.stderr };
    },
    ns: (node) => `gl-${lab}-${node}`,
    leftovers: () => ({
      namespaces: netnsList().filter((n) => n.startsWith(`gl-${lab}-`)),
      processes: [...processesMentioning(stateDir), ...processesMentioning(`gl-${lab}-`)],
    }),
  };
}

export function show(rs: CheckOut[]): string {
  return rs.map((r) => `${r.status.padEnd(7)} ${r.name} (${r.kind}) ${JSON.stringify(r.figures)}${r.message ? `\n        ${r.message.replace(/\n/g, '\n        ')}` : ''}`).join('\n');
}

export function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -d -j link show dev IF` in a namespace. */
export function link(ns: string, dev: string): any {
  return JSON.parse(sh(['ip', '-n', ns, '-d', '-j', 'link', 'show', 'dev', dev]))[0];
}

/**
 * tcpdump in a namespace writing hex (-xx) of every frame matching `filter`; `stop()` ends it and
 * returns the frames as lower-case hex strings.
 */
export async function hexCapture(ns: string, dev: string, filter: string[]): Promise<{ stop(): Promise<string[]> }> {
  const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-n', '-l', '-U', '-xx', '-i', dev, ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 100 && !/listening on/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      p.kill('SIGINT');
      await new Promise((r) => p.on('close', r));
      const frames: string[] = [];
      for (const block of out.split(/\n(?=\d\d:\d\d:\d\d)/)) {
        const hex = [...block.matchAll(/^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/gm)].map((m) => m[1]!.replace(/\s+/g, '')).join('');
        if (hex) frames.push(hex);
      }
      return frames;
    },
  };
}

export const twoOvsHosts = (steps: string, extra = '') => `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24], mac: "02:00:00:00:00:01" }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24], mac: "02:00:00:00:00:02" }
tunnels:
  - { name: tun0, between: [sw1, sw2], vni: 5 }
${extra}
checks:
  - { name: base, ping: { from: left, to: right, count: 1 } }
steps:
${steps}
`;
