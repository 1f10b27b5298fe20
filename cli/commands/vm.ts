/**
 * `geneve-lab vm [options] -- <geneve-lab arguments>`: run a geneve-lab command (or, with
 * --exec, any command) inside a throwaway VM with a geneve-capable kernel. Wiring only; the
 * work is in lib/vm/run.ts.
 */
import type { Command } from 'commander';
import { LabError, UsageError } from '../../lib/errors.js';
import type { AccelRequest } from '../../lib/vm/accel.js';
import { geneveLabArgv } from '../../lib/vm/project.js';
import { runInVm } from '../../lib/vm/run.js';

interface VmFlags {
  accel: string;
  kernel?: string;
  modules?: string;
  memory: string;
  cpus: string;
  results: string;
  timeout: string;
  exec?: boolean;
  console?: boolean;
  cacheDir?: string;
}

function positiveInt(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} ${value}: expected a whole number ≥ ${min}`);
  }
  return n;
}

export function registerVmCommand(program: Command): void {
  program
    .command('vm')
    .description('run a geneve-lab command inside a disposable VM with a geneve-capable Debian kernel')
    .usage('[options] -- <geneve-lab arguments…>')
    .option('--accel <kind>', 'kvm, tcg, or auto (KVM, falling back to TCG when it does not boot)', 'auto')
    .option('--kernel <file>', 'boot this kernel image instead of Debian\'s stock kernel (needs --modules)')
    .option('--modules <dir>', 'module tree of --kernel, e.g. /lib/modules/<release>')
    .option('--memory <MB>', 'guest memory in MB', '2048')
    .option('--cpus <n>', 'guest CPUs', '2')
    .option('--results <dir>', 'host directory shared read-write at the same path inside the VM', 'results')
    .option('--timeout <seconds>', 'stop the VM after this many seconds (0: never)', '3600')
    .option('--exec', 'run the arguments as a command as they are, not as geneve-lab arguments')
    .option('--console', 'copy the VM console to stderr (debugging)')
    .option('--cache-dir <dir>', 'kernel/initramfs cache (default /var/cache/geneve-lab/vm, or $GENEVE_LAB_VM_CACHE)')
    .argument('[args...]', 'geneve-lab arguments (or a command with --exec)')
    .passThroughOptions()
    .action(async (args: string[], flags: VmFlags) => {
      const controller = new AbortController();
      let interruptedBy: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals) => {
        interruptedBy = sig;
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        if (!['auto', 'kvm', 'tcg'].includes(flags.accel)) throw new UsageError(`--accel ${flags.accel}: expected kvm, tcg or auto`);
        if (args.length === 0) {
          throw new UsageError(
            flags.exec ? 'vm --exec: give the command to run, e.g. geneve-lab vm --exec -- uname -r' : 'vm: give the geneve-lab command to run, e.g. geneve-lab vm -- up recipes/kernel-geneve.yaml',
          );
        }
        const result = await runInVm({
          argv: flags.exec ? args : geneveLabArgv(args),
          accel: flags.accel as AccelRequest,
          ...(flags.kernel !== undefined ? { kernel: flags.kernel } : {}),
          ...(flags.modules !== undefined ? { modules: flags.modules } : {}),
          memoryMb: positiveInt('--memory', flags.memory, 256),
          cpus: positiveInt('--cpus', flags.cpus, 1),
          resultsDir: flags.results,
          timeoutSec: positiveInt('--timeout', flags.timeout, 0),
          ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
          ...(flags.console ? { console: process.stderr } : {}),
          onProgress: (m) => process.stderr.write(`geneve-lab vm: ${m}\n`),
          signal: controller.signal,
        });
        process.exitCode = result.exitCode;
      } catch (e) {
        if (interruptedBy) {
          process.stderr.write(`geneve-lab vm: interrupted (${interruptedBy}); the VM was stopped\n`);
          process.exitCode = interruptedBy === 'SIGINT' ? 130 : 143;
        } else if (e instanceof LabError) {
          process.stderr.write(`geneve-lab vm: ${e.message}\n`);
          process.exitCode = e.exitCode;
        } else {
          throw e;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
