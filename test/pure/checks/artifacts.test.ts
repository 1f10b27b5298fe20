import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from '../../../lib/checks/result.js';
import type { Executor } from '../../../lib/exec/executor.js';
import type { Lab } from '../../../lib/model/types.js';
import { labNamespaces, safeFileName, writeArtifacts } from '../../../lib/report/artifacts.js';

const lab = {
  name: 'a', nsPrefix: 'gl-a-', tag: 'gl:a', switches: [], tunnels: [], checks: [], warnings: [],
  networks: [{ name: 'u', mtu: 1500, ns: 'gl-a-u', bridge: 'br0' }],
  hosts: [
    { name: 'h1', ns: 'gl-a-h1', placement: { kind: 'netns' }, interfaces: [] },
    { name: 'far', ns: 'unused', placement: { kind: 'ssh', target: 'root@192.0.2.9' }, interfaces: [] },
  ],
  guests: [{ name: 'g', ns: 'gl-a-g', switch: 's', host: 'h1', ifname: 'eth0', peerIfname: 'g0', addresses: [], offload: {}, routes: [] }],
} as unknown as Lab;

const ok: CheckResult = { name: 'p', kind: 'ping', what: 'w', status: 'passed', figures: {}, durationMs: 1 };
const bad: CheckResult = { name: 'bad/one', kind: 'ping', what: 'w', status: 'failed', message: 'm', figures: { loss: '100%' }, durationMs: 1, raw: 'RAW', details: { x: 1 } };

const fake: Executor & { calls: string[][] } = {
  where: 'local',
  calls: [],
  async run(argv) {
    this.calls.push([...argv]);
    const fail = argv.includes('neigh');
    return { argv: [...argv], exitCode: fail ? 1 : 0, stdout: fail ? '' : '[]\n', stderr: fail ? 'boom\n' : '', durationMs: 1, timedOut: false };
  },
  start() {
    throw new Error('unused');
  },
};

test('namespaces: networks, netns hosts, guests (SSH hosts have none of ours)', (t) => {
  t.deepEqual(labNamespaces(lab), [{ ns: 'gl-a-u' }, { ns: 'gl-a-h1' }, { ns: 'gl-a-g', host: 'h1' }]);
  t.is(safeFileName('bad/one'), 'bad_one');
  t.is(safeFileName('..'), '_');
});

test('nothing written when all passed; on failure: check text, details, per-namespace dumps, summary', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-art-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.deepEqual(await writeArtifacts(dir, lab, [ok], fake), []);
  const files = await writeArtifacts(dir, lab, [ok, bad], fake);
  t.is(files.length, 2 + 3 * 5 + 1);
  t.regex(readFileSync(join(dir, 'checks', 'bad_one.txt'), 'utf8'), /^check: bad\/one \(ping\)\nwhat: w\nresult: failed\nmessage: m\n[\s\S]*loss: 100%[\s\S]*RAW/);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'checks', 'bad_one.details.json'), 'utf8')), { x: 1 });
  t.deepEqual(fake.calls[0], ['ip', 'netns', 'exec', 'gl-a-u', 'ip', '-d', '-j', 'link', 'show']);
  t.like(JSON.parse(readFileSync(join(dir, 'netns', 'gl-a-g', 'neigh.json'), 'utf8')), { stderr: 'boom' });
  t.is(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).checks.length, 2);
});
