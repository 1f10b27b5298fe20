/**
 * Choosing the kernel backend: netlink (in-process) where its native part loads, iproute2
 * otherwise — with a notice, never silently.
 */
import type { Backend } from './backend.js';
import type { Executor } from '../exec/executor.js';
import { createIproute2Backend } from './iproute2/index.js';
import { UsageError } from '../errors.js';

export type BackendName = 'netlink' | 'iproute2' | 'auto';

export async function selectBackend(
  name: BackendName,
  exec: Executor,
  notice: (msg: string) => void,
): Promise<Backend> {
  if (name !== 'netlink' && name !== 'iproute2' && name !== 'auto') throw new UsageError(`unknown backend "${name}": use netlink or iproute2`);
  if (name === 'iproute2') return createIproute2Backend(exec);
  try {
    // Loaded lazily: the native part must not be needed for validate/plan or on other platforms.
    const mod = (await import(new URL('./netlink/index.js', import.meta.url).href)) as {
      createNetlinkBackend: (opts?: { exec?: Executor }) => Promise<Backend>;
    };
    return await mod.createNetlinkBackend({ exec });
  } catch (e) {
    if (name === 'netlink') throw new UsageError(`the netlink backend cannot be used here: ${(e as Error).message}`);
    notice(`netlink backend unavailable (${(e as Error).message.split('\n')[0]}); using iproute2`);
    return createIproute2Backend(exec);
  }
}
