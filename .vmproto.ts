import { qemuArgv, standardShares } from './lib/vm/qemu.ts';
import { commandScript, configScript, guestEnv } from './lib/vm/command.ts';
import { writeFileSync, mkdtempSync } from 'node:fs';
const ctl = mkdtempSync('/tmp/glvm-');
writeFileSync(ctl + '/config.sh', configScript(undefined));
writeFileSync(ctl + '/command.sh', commandScript({ argv: process.argv.slice(2), cwd: process.cwd(), env: guestEnv(process.env) }));
const k = '/var/cache/geneve-lab/vm/kernels/6.1.0-56-amd64';
const argv = qemuArgv({ accel: 'tcg', memoryMb: 2048, cpus: 2, kernel: k + '/boot/vmlinuz-6.1.0-56-amd64', initrd: '/var/cache/geneve-lab/vm/initramfs/6.1.0-56-amd64-d305bae9864a7192655b.cpio.gz', shares: standardShares({ modulesDir: k + '/lib/modules/6.1.0-56-amd64', controlDir: ctl }), stdoutFd: 3, stderrFd: 4 });
console.log(JSON.stringify({ctl, argv}));
