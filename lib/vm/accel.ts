/**
 * Choosing between KVM and TCG. KVM is tried first where /dev/kvm is usable, but on some hosts
 * (nested virtualisation without proper support) a KVM guest hangs before the kernel prints
 * anything, so KVM gets a short deadline to reach our first boot marker; then TCG is used.
 * A host where KVM failed is remembered until the host reboots, so later runs go straight to TCG.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Accel } from './qemu.js';

export type AccelRequest = 'auto' | Accel;

/** How long KVM may take to reach /init before we conclude it hangs. A working KVM needs < 1 s. */
export const KVM_BOOT_DEADLINE_MS = 5000;
/** Under TCG the first marker normally arrives within ~5–10 s; this only catches a dead VM. */
export const TCG_BOOT_DEADLINE_MS = 120_000;

export interface KvmState {
  usable: boolean;
  /** Why KVM is not usable (for messages). */
  reason?: string;
  /** KVM was tried on this host since its last reboot and did not boot. */
  knownBroken: boolean;
}

export function accelAttempts(requested: AccelRequest, kvm: KvmState): Accel[] {
  if (requested === 'tcg') return ['tcg'];
  if (requested === 'kvm') return ['kvm'];
  return kvm.usable && !kvm.knownBroken ? ['kvm', 'tcg'] : ['tcg'];
}

export type BootOutcome<T> = { booted: true; value: T } | { booted: false; reason: string };

/**
 * Try each accelerator in turn. `boot` must resolve once the guest reached /init (booted) or
 * failed to (not booted: qemu exited early, or the deadline passed and it was stopped).
 * The last attempt's failure is returned as is; earlier ones are reported through onFallback.
 */
export async function bootWithFallback<T>(
  attempts: readonly Accel[],
  boot: (accel: Accel, deadlineMs: number) => Promise<BootOutcome<T>>,
  onFallback: (from: Accel, to: Accel, reason: string) => void | Promise<void> = () => {},
): Promise<{ accel: Accel; outcome: BootOutcome<T> }> {
  if (attempts.length === 0) throw new Error('no accelerator to try');
  for (let i = 0; i < attempts.length; i++) {
    const accel = attempts[i]!;
    const last = i === attempts.length - 1;
    const deadline = accel === 'kvm' && !last ? KVM_BOOT_DEADLINE_MS : TCG_BOOT_DEADLINE_MS;
    const outcome = await boot(accel, deadline);
    if (outcome.booted || last) return { accel, outcome };
    await onFallback(accel, attempts[i + 1]!, outcome.reason);
  }
  throw new Error('unreachable');
}

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
}

export async function kvmState(stateFile: string, device = '/dev/kvm'): Promise<KvmState> {
  let usable = true;
  let reason: string | undefined;
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch (e) {
    usable = false;
    reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${device} does not exist` : `${device} is not accessible (${(e as NodeJS.ErrnoException).code})`;
  }
  let knownBroken = false;
  try {
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { bootId?: string; kvmBroken?: boolean };
    knownBroken = saved.kvmBroken === true && saved.bootId === (await bootId());
  } catch {
    // no record yet
  }
  return { usable, ...(reason ? { reason } : {}), knownBroken };
}

export async function rememberKvmBroken(stateFile: string, why: string): Promise<void> {
  try {
    await mkdir(dirname(stateFile), { recursive: true });
    await writeFile(stateFile, JSON.stringify({ bootId: await bootId(), kvmBroken: true, why, at: new Date().toISOString() }) + '\n');
  } catch {
    // Only an optimisation: without the record the next run tries KVM again.
  }
}
