import { LocalExecutor } from '../lib/exec/executor.js';
import { startIpsec, stopIpsec } from '../lib/ipsec/daemons.js';
import { IpsecRunner } from '../lib/ipsec/runner.js';
import { secret } from '../lib/ipsec/secret.js';
import { ikeConnsFor } from '../lib/ipsec/strongswan.js';
import { execFileSync, spawnSync } from 'node:child_process';
const exec = new LocalExecutor();
const ip = (...a: string[]) => execFileSync('ip', a);
ip('netns', 'add', 'ipsw-a'); ip('netns', 'add', 'ipsw-b');
try {
  ip('-n', 'ipsw-a', 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', 'ipsw-b');
  ip('-n', 'ipsw-a', 'addr', 'add', '192.0.2.1/24', 'dev', 'u0'); ip('-n', 'ipsw-b', 'addr', 'add', '192.0.2.2/24', 'dev', 'u0');
  ip('-n', 'ipsw-a', 'link', 'set', 'u0', 'up'); ip('-n', 'ipsw-b', 'link', 'set', 'u0', 'up');
  const hs = [['ipsw-a', '/tmp/ipsw/a', '192.0.2.1', '192.0.2.2', 'k1'], ['ipsw-b', '/tmp/ipsw/b', '192.0.2.2', '192.0.2.1', 'k2']];
  for (const [ns, dir, l, r, k] of hs) {
    await startIpsec({ exec, ns: ns!, dir: dir!, label: ns! });
    await new IpsecRunner(exec).run({ id: 1, subject: 's', op: { op: 'ipsec.conns', ns: ns!, dir: dir!, lab: 'x', file: 't', conns: ikeConnsFor('t', 'gre', l!, r!), psk: secret(k!), esp: 'aes128-sha1' }, undo: null });
  }
  const t0 = Date.now();
  const r = spawnSync('ip', ['netns', 'exec', 'ipsw-a', '/tmp/ipsw/a/usr/sbin/ipsec', 'up', 'gl_t'], { encoding: 'utf8', timeout: 20000 });
  console.log('exit', r.status, r.signal, Date.now() - t0, 'ms\n', r.stdout, r.stderr);
} finally {
  for (const d of ['/tmp/ipsw/a', '/tmp/ipsw/b']) await stopIpsec(exec, d).catch((e) => console.log(e));
  ip('netns', 'del', 'ipsw-a'); ip('netns', 'del', 'ipsw-b');
}
