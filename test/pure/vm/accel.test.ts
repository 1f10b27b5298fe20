import test from 'ava';
import { accelAttempts, bootWithFallback, KVM_BOOT_DEADLINE_MS, TCG_BOOT_DEADLINE_MS, type BootOutcome } from '../../../lib/vm/accel.js';
import type { Accel } from '../../../lib/vm/qemu.js';

const usable = { usable: true, knownBroken: false };

test('auto tries KVM then TCG only where KVM is usable and not known broken', (t) => {
  t.deepEqual(accelAttempts('auto', usable), ['kvm', 'tcg']);
  t.deepEqual(accelAttempts('auto', { usable: false, reason: 'no /dev/kvm', knownBroken: false }), ['tcg']);
  t.deepEqual(accelAttempts('auto', { usable: true, knownBroken: true }), ['tcg']);
  t.deepEqual(accelAttempts('tcg', usable), ['tcg']);
  t.deepEqual(accelAttempts('kvm', { usable: true, knownBroken: true }), ['kvm']);
});

/** A fake boot: records what was asked and answers from a script. */
function fakeBoot(answers: Partial<Record<Accel, BootOutcome<string>>>) {
  const calls: { accel: Accel; deadlineMs: number }[] = [];
  const boot = async (accel: Accel, deadlineMs: number) => {
    calls.push({ accel, deadlineMs });
    return answers[accel] ?? { booted: false, reason: 'unscripted' };
  };
  return { calls, boot };
}

test('a hanging KVM gets a short deadline, then TCG boots and the fallback is reported', async (t) => {
  const { calls, boot } = fakeBoot({ kvm: { booted: false, reason: 'no sign of the guest kernel within 5 s' }, tcg: { booted: true, value: 'vm' } });
  const fallbacks: string[] = [];
  const r = await bootWithFallback(['kvm', 'tcg'], boot, (from, to, why) => {
    fallbacks.push(`${from}->${to}: ${why}`);
  });
  t.is(r.accel, 'tcg');
  t.deepEqual(r.outcome, { booted: true, value: 'vm' });
  t.deepEqual(calls, [
    { accel: 'kvm', deadlineMs: KVM_BOOT_DEADLINE_MS },
    { accel: 'tcg', deadlineMs: TCG_BOOT_DEADLINE_MS },
  ]);
  t.deepEqual(fallbacks, ['kvm->tcg: no sign of the guest kernel within 5 s']);
  t.true(KVM_BOOT_DEADLINE_MS <= 10_000, 'KVM must be given up on within seconds, not minutes');
});

test('a working KVM is used without trying TCG', async (t) => {
  const { calls, boot } = fakeBoot({ kvm: { booted: true, value: 'fast' } });
  const r = await bootWithFallback(['kvm', 'tcg'], boot);
  t.is(r.accel, 'kvm');
  t.is(calls.length, 1);
});

test('an explicit --accel kvm gets the long deadline and its failure is returned, not hidden', async (t) => {
  const { calls, boot } = fakeBoot({ kvm: { booted: false, reason: 'qemu exited' } });
  const r = await bootWithFallback(['kvm'], boot);
  t.deepEqual(r, { accel: 'kvm', outcome: { booted: false, reason: 'qemu exited' } });
  t.is(calls[0]!.deadlineMs, TCG_BOOT_DEADLINE_MS);
});

test('when TCG fails too, its failure is the result', async (t) => {
  const { boot } = fakeBoot({ kvm: { booted: false, reason: 'hang' }, tcg: { booted: false, reason: 'panic' } });
  const r = await bootWithFallback(['kvm', 'tcg'], boot);
  t.deepEqual(r, { accel: 'tcg', outcome: { booted: false, reason: 'panic' } });
});
