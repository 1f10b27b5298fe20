import { LocalExecutor } from '../lib/exec/executor.js';
import { startIpsec, stopIpsec } from '../lib/ipsec/daemons.js';
import { execFileSync } from 'node:child_process';
const exec = new LocalExecutor();
execFileSync('ip', ['netns', 'add', 'ipsx-a']);
try {
  const t0 = Date.now();
  await startIpsec({ exec, ns: 'ipsx-a', dir: '/tmp/ipsx/ipsec-a', label: 'IKE daemon on host "a"' });
  console.log('started in', Date.now() - t0, 'ms');
  console.log(execFileSync('ls', ['-laR', '/tmp/ipsx/ipsec-a']).toString());
  console.log(execFileSync('ip', ['netns', 'exec', 'ipsx-a', '/tmp/ipsx/ipsec-a/usr/sbin/ipsec', 'statusall']).toString().slice(0, 600));
  await stopIpsec(exec, '/tmp/ipsx/ipsec-a');
  console.log('stopped; left:', execFileSync('sh', ['-c', 'ls /tmp/ipsx; pgrep -fa ipsec/ || true']).toString());
} finally {
  execFileSync('ip', ['netns', 'del', 'ipsx-a']);
}
