/**
 * Kernel-tier gate for the fault suite: these tests need kernel features this development
 * machine's kernel lacks (geneve netdev, netem). They run inside the VM
 * (`geneve-lab vm --exec -- node test/support/run-tests.js --inner -- 'test/vm/**\/*.test.ts'`).
 * Anywhere the features are missing they are registered as skipped, LOUDLY, with the reason —
 * never silently passed. Features are probed for real, in a throw-away namespace.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { privReason } from '../../support/priv.js';

export type Feature = 'geneve' | 'netem' | 'tc-tunnel' | 'ovs-kernel' | 'esp';

function run(argv: string[]): { ok: boolean; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, err: `${r.stderr ?? ''}`.trim() };
}

/** Why `feature` cannot be used on this kernel, or undefined when it can (tried for real). */
function probe(feature: Feature): string | undefined {
  if (feature === 'ovs-kernel') {
    // OVS's kernel datapath: the openvswitch module loaded (or built in) or loadable.
    const loaded = run(['test', '-d', '/sys/module/openvswitch']).ok;
    return loaded || run(['modprobe', '-n', '-q', 'openvswitch']).ok ? undefined : 'no openvswitch kernel module (OVS kernel datapath)';
  }
  const ns = `gl-kprobe-${randomBytes(3).toString('hex')}`;
  if (!run(['ip', 'netns', 'add', ns]).ok) return 'cannot create a namespace to probe the kernel';
  try {
    const inNs = (a: string[]) => run(['ip', 'netns', 'exec', ns, ...a]);
    switch (feature) {
      case 'geneve': {
        const r = run(['ip', '-n', ns, 'link', 'add', 'g0', 'type', 'geneve', 'id', '1', 'remote', '192.0.2.1']);
        return r.ok ? undefined : `no kernel geneve netdev (${r.err})`;
      }
      case 'esp': {
        // An ESP SA (AES-CBC + HMAC-SHA1): what IPsec tunnels need (CONFIG_INET_ESP).
        const r = run(['ip', '-n', ns, 'xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp', 'spi', '0x100', 'mode', 'transport', 'enc', 'cbc(aes)', '0x' + '00'.repeat(16), 'auth-trunc', 'hmac(sha1)', '0x' + '00'.repeat(20), '96']);
        return r.ok ? undefined : `no ESP in the kernel (${r.err})`;
      }
      case 'netem': {
        const r = inNs(['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', '1%']);
        return r.ok ? undefined : `no netem qdisc (${r.err})`;
      }
      case 'tc-tunnel': {
        // What external tunnel ends need: clsact, flower + matchall, tunnel_key + gact.
        if (!run(['ip', '-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']).ok) return 'cannot create a veth pair to probe tc';
        for (const a of [
          ['qdisc', 'add', 'dev', 'v0', 'clsact'],
          ['filter', 'add', 'dev', 'v0', 'ingress', 'protocol', 'all', 'flower', 'enc_key_id', '1', 'action', 'tunnel_key', 'unset', 'pass'],
          ['filter', 'add', 'dev', 'v0', 'egress', 'protocol', 'all', 'matchall', 'action', 'drop'],
        ]) {
          const r = inNs(['tc', ...a]);
          if (!r.ok) return `no tc flower/matchall/tunnel_key (${r.err.split('\n')[0]})`;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  } finally {
    run(['ip', 'netns', 'del', ns]);
  }
}

const cache = new Map<Feature, string | undefined>();
export function kernelReason(features: Feature[], tools: string[] = []): string | undefined {
  const priv = privReason(['ip', 'tc', ...tools]);
  if (priv) return priv;
  for (const f of features) {
    if (!cache.has(f)) cache.set(f, probe(f));
    const why = cache.get(f);
    if (why) return `${why}: a kernel-tier test, run it in the VM (geneve-lab vm --exec)`;
  }
  return undefined;
}

/** Register a kernel-tier test; skipped loudly (reason in the title) when the kernel cannot run it. */
export function kernelTest(title: string, fn: (t: ExecutionContext) => Promise<void> | void, opts: { features: Feature[]; tools?: string[] }): void {
  const reason = kernelReason(opts.features, opts.tools);
  if (reason) {
    process.stderr.write(`\n!!! KERNEL-TIER TEST NOT RUN (${reason}): ${title}\n`);
    test.skip(`${title} [NOT RUN: ${reason}]`, () => {});
    return;
  }
  test.serial(title, fn);
}
