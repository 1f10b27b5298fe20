import test from 'ava';
import { INITRAMFS_MODULES } from '../../../lib/vm/modules.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandScript, configScript, guestEnv, shQuote } from '../../../lib/vm/command.js';
import { initramfsModulePath, stage1Script, stage2Script } from '../../../lib/vm/init-script.js';
import { MARKER } from '../../../lib/vm/markers.js';

test('stage 1 loads the modules in the given order, each checked', (t) => {
  const s = stage1Script('6.1.0-56-amd64', ['virtio_ring', 'virtio', '9pnet']);
  const insmods = s.split('\n').filter((l) => l.startsWith('insmod '));
  t.deepEqual(insmods, [
    `insmod /${initramfsModulePath(0, 'virtio_ring')} || fail "loading kernel module virtio_ring"`,
    `insmod /${initramfsModulePath(1, 'virtio')} || fail "loading kernel module virtio"`,
    `insmod /${initramfsModulePath(2, '9pnet')} || fail "loading kernel module 9pnet"`,
  ]);
  t.is(initramfsModulePath(1, 'virtio'), 'lib/gl-modules/01-virtio.ko');
});

test('stage 1 mounts the host read-only under a tmpfs overlay and announces itself first', (t) => {
  const s = stage1Script('6.1.0-56-amd64', ['virtio']);
  t.regex(s, /mount -t 9p -o trans=virtio,version=9p2000\.L,msize=\d+,ro,cache=loose hostroot \/lower/);
  t.regex(s, /mount -t overlay -o lowerdir=\/lower,upperdir=\/rw\/upper,workdir=\/rw\/work overlay \/newroot/);
  t.regex(s, /hostroot|modules/);
  t.true(s.includes('/newroot/lib/modules/6.1.0-56-amd64'));
  t.true(s.indexOf(`echo "${MARKER.init}"`) < s.indexOf('insmod'), 'the boot marker comes before anything slow');
  t.regex(s, /exec switch_root \/newroot/);
  t.throws(() => stage1Script('6.1; rm -rf /', []), { message: /unexpected kernel release/ });
});

test('stage 2 mounts proc/sys afresh, runs the command with the host shell and records its exit code', (t) => {
  const s = stage2Script();
  t.regex(s, /\$bb mount -t proc proc \/proc/);
  t.regex(s, /\$bb mount -t sysfs sysfs \/sys/);
  t.regex(s, /\n\/bin\/sh \$ctl\/command\.sh <\/dev\/null >"\$out" 2>"\$err"\n/);
  t.regex(s, /echo "\$rc" >\$ctl\/status/);
  t.true(s.indexOf('>$ctl/status') < s.lastIndexOf('poweroff -f'), 'status is written before power-off');
  t.true(s.includes(`echo "${MARKER.exit} $rc"`));
});

test('the guest gets /dev/net/tun (the OVS userspace datapath needs taps): tun loaded in stage 1, the node made in stage 2 before the command', (t) => {
  t.true(INITRAMFS_MODULES.includes('tun'), 'stage 1 insmods tun with the other modules');
  const s = stage2Script();
  t.notRegex(s, /modprobe tun/, 'no modprobe over 9p at boot');
  t.regex(s, /\$bb mknod -m 0666 \/dev\/net\/tun c 10 200/);
  t.true(s.indexOf('mount -t devtmpfs') < s.indexOf('mknod'), 'after /dev exists');
  t.true(s.indexOf('mknod') < s.indexOf('command.sh'), 'before the command');
});

test('shQuote survives every byte through a real shell', (t) => {
  const nasty = ["it's", '$(touch /x)', '`id`', 'a b\tc', 'new\nline', '', '\\', '"', '*', '-n'];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${nasty.map(shQuote).join(' ')}`]).toString();
  t.deepEqual(out.split('\0').slice(0, -1), nasty);
  t.throws(() => shQuote('a\0b'), { message: /NUL/ });
});

test('command.sh enters the directory, sets the environment and execs the argv unchanged', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-vm-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const argv = ['sh', '-c', 'printf "%s|" "$PWD" "$GREETING" "$@"', 'zero', "o'ne", '$two'];
  const script = join(dir, 'command.sh');
  writeFileSync(script, commandScript({ argv, cwd: dir, env: { GREETING: 'hi there' } }));
  t.is(execFileSync('sh', [script], { cwd: '/' }).toString(), `${dir}|hi there|o'ne|$two|`);
});

test('command.sh fails clearly when the directory does not exist in the VM', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-vm-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'command.sh');
  writeFileSync(script, commandScript({ argv: ['true'], cwd: '/nonexistent/dir', env: {} }));
  const err = t.throws(() => execFileSync('sh', [script], { stdio: 'pipe' })) as Error & { status: number; stderr: Buffer };
  t.is(err.status, 125);
  t.regex(err.stderr.toString(), /cannot enter .*\/nonexistent\/dir.* inside the VM/);
});

test('guest environment: /usr/local/bin on PATH, CI passed through, nothing else leaks', (t) => {
  const env = guestEnv({ CI: 'true', SECRET_TOKEN: 'x', PATH: '/host/only' });
  t.true(env.PATH!.split(':').includes('/usr/local/bin'));
  t.is(env.CI, 'true');
  t.is(env.SECRET_TOKEN, undefined);
  t.is(env.GENEVE_LAB_IN_VM, '1');
  t.is(guestEnv({}).CI, undefined);
  t.throws(() => commandScript({ argv: ['x'], cwd: '/', env: { 'BAD-NAME': '1' } }), { message: /invalid environment variable name/ });
  t.throws(() => commandScript({ argv: [], cwd: '/', env: {} }), { message: /no command/ });
  t.is(configScript("/w/it's"), `# Generated by geneve-lab (lib/vm/command.ts): per-run settings for stage 2.\nGL_RESULTS='/w/it'\\''s'\n`);
});
