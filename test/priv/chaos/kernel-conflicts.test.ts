/**
 * Issue 17, problem 9 against the real kernel: for pairs of VXLAN tunnels on one host, validation
 * refuses exactly the pairs this kernel refuses (the second device fails with EEXIST when it is
 * added, or with EADDRINUSE when it comes up), and accepts the rest. (Geneve devices: the VM tier's kernel; this one has no geneve netdev.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { privTest, randomLabName } from '../../support/priv.js';
import { twoHostRecipe } from '../../support/lab-recipes.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';
import { RecipeError } from '../../../lib/errors.js';

interface End {
  vni: number;
  port?: number;
  family?: 'ipv6';
  external?: boolean;
}
const PAIRS: [End, End][] = [
  [{ vni: 7 }, { vni: 7 }],
  [{ vni: 7 }, { vni: 8 }],
  [{ vni: 7 }, { vni: 7, port: 4790 }],
  [{ vni: 7 }, { vni: 7, family: 'ipv6' }],
  [{ vni: 7, external: true }, { vni: 8, external: true }],
  [{ vni: 7, external: true }, { vni: 8 }],
  [{ vni: 7, external: true }, { vni: 8, external: true, port: 4790 }],
];

const yaml = (e: End) => `type: vxlan, vni: ${e.vni}${e.port ? `, dstport: ${e.port}` : ''}${e.family ? `, family: ${e.family}` : ''}${e.external ? ', external: true' : ''}`;
const ipArgs = (e: End, name: string) => [
  'link', 'add', name, 'type', 'vxlan',
  ...(e.external ? ['external'] : ['id', String(e.vni), 'remote', e.family ? '2001:db8::12' : '192.0.2.12']),
  'dstport', String(e.port ?? 4789),
  ...(e.external && e.family ? ['local', '2001:db8::11'] : []),
];

privTest('validation refuses exactly the VXLAN pairs this kernel refuses', (t) => {
  const ns = `gl-${randomLabName('kc')}-probe`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', ns]));
  for (const [a, b] of PAIRS) {
    const text = twoHostRecipe('kc', `${yaml(a).replace(/, /g, '\n    ').replace(/^/, '')}\n  - { name: tun1, between: [sw1, sw2], ${yaml(b)} }`);
    let refused = false;
    try {
      loadRecipeText(text, 'pair.yaml');
    } catch (e) {
      if (!(e instanceof RecipeError)) throw e;
      refused = e.problems.some((p) => /the kernel refuses the second one/.test(p.message));
    }
    spawnSync('ip', ['-n', ns, ...ipArgs(a, 'v1')]);
    spawnSync('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);
    let second = spawnSync('ip', ['-n', ns, ...ipArgs(b, 'v2')], { encoding: 'utf8' });
    // A lab brings every device up: a device the kernel creates but cannot bring up is refused too.
    if (second.status === 0) second = spawnSync('ip', ['-n', ns, 'link', 'set', 'v2', 'up'], { encoding: 'utf8' });
    spawnSync('ip', ['-n', ns, 'link', 'del', 'v1']);
    spawnSync('ip', ['-n', ns, 'link', 'del', 'v2']);
    t.is(refused, second.status !== 0, `${yaml(a)} then ${yaml(b)}: kernel said ${second.status === 0 ? 'ok' : second.stderr.trim()}`);
  }
});
