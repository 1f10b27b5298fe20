/**
 * Boots the real VM once (TCG or KVM, whatever works here) and, in that one boot: checks the
 * kernel release, loads geneve, builds a kernel geneve tunnel between two namespaces and pings
 * through it; the command ends with a distinctive exit code that must come back to the host,
 * with stdout and stderr kept apart.
 */
import { PassThrough } from 'node:stream';
import { privTest } from '../../support/priv.js';
import { runInVm } from '../../../lib/vm/run.js';

function collect() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  return { stream: s, text: () => text };
}

const SCRIPT = `
set -e
echo "release=$(uname -r)"
modprobe geneve
grep -q '^geneve ' /proc/modules && echo "geneve=loaded"
ip netns add a; ip netns add b
ip -n a link add ul type veth peer name ul netns b
for side in a:192.0.2.1:192.0.2.2:198.51.100.1 b:192.0.2.2:192.0.2.1:198.51.100.2; do
  IFS=: read ns self peer ov <<EOT
$side
EOT
  ip -n $ns link set lo up
  ip -n $ns addr add $self/24 dev ul; ip -n $ns link set ul up
  ip -n $ns link add gnv type geneve id 77 remote $peer
  ip -n $ns addr add $ov/24 dev gnv; ip -n $ns link set gnv up
done
ip netns exec a ping -c 2 -W 5 198.51.100.2 >/dev/null && echo "ping=ok"
echo "to-stderr" >&2
exit 42
`;

privTest(
  'geneve-lab vm: Debian kernel boots, geneve loads, a geneve tunnel between namespaces carries ping, exit code 42 comes back',
  async (t) => {
    const out = collect();
    const err = collect();
    const progress: string[] = [];
    const r = await runInVm({
      argv: ['sh', '-c', SCRIPT],
      stdout: out.stream,
      stderr: err.stream,
      timeoutSec: 300,
      onProgress: (m) => progress.push(m),
    });
    t.log(`accel=${r.accel} boot-to-command=${r.bootMs} ms total=${r.totalMs} ms ${progress.join('; ')}`);
    t.is(r.exitCode, 42, `stdout: ${out.text()}\nstderr: ${err.text()}`);
    t.regex(out.text(), /^release=\d+\.\d+\.\d+-\d+-amd64$/m);
    t.not(out.text().match(/^release=(.*)$/m)?.[1], (await import('node:os')).release(), 'the VM runs its own kernel, not the host one');
    t.regex(out.text(), /^geneve=loaded$/m);
    t.regex(out.text(), /^ping=ok$/m);
    t.is(err.text(), 'to-stderr\n');
    t.false(out.text().includes('GENEVE-LAB-VM'), 'console markers never reach the command output');
  },
  { tools: ['qemu-system-x86_64'] },
);
