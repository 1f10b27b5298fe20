/** Where the VM keeps its downloads and builds. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** GENEVE_LAB_VM_CACHE overrides; root uses /var/cache, other users their XDG cache. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string {
  if (env.GENEVE_LAB_VM_CACHE) return env.GENEVE_LAB_VM_CACHE;
  if (uid === 0) return '/var/cache/geneve-lab/vm';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'geneve-lab', 'vm');
}

export function kvmStateFile(cacheDir: string): string {
  return join(cacheDir, 'kvm-state.json');
}
