/**
 * Lines the guest prints on its console (ttyS0) so the host can follow the boot without
 * showing the console itself. Each is alone on its line.
 */
export const MARKER = {
  /** Printed by /init as its first action: the kernel booted and ran our initramfs. */
  init: 'GENEVE-LAB-VM:INIT',
  /** Printed by stage 2 just before the command starts. */
  ready: 'GENEVE-LAB-VM:READY',
  /** `GENEVE-LAB-VM:EXIT <code>` after the command ended. */
  exit: 'GENEVE-LAB-VM:EXIT',
  /** `GENEVE-LAB-VM:FAIL <what>` when the VM could not set itself up. */
  fail: 'GENEVE-LAB-VM:FAIL',
} as const;

/** virtio-serial port names carrying the command's output to the host. */
export const PORT = { stdout: 'geneve-lab.stdout', stderr: 'geneve-lab.stderr' } as const;

/** 9p mount tags of the shares. */
export const TAG = { hostRoot: 'hostroot', modules: 'modules', control: 'glctl', results: 'results' } as const;

/** Where the guest keeps its own files (a tmpfs inside the new root). */
export const GUEST_DIR = '/run/geneve-lab-vm';
