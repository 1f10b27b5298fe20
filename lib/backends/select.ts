/**
 * Choosing the kernel backend: netlink (in-process) where its native part loads, iproute2
 * otherwise — with a notice, never silently.
 */
import type { Backend } from './backend.js';
import type { Executor } from '../exec/executor.js';
import { createIproute2Backend } from './iproute2/index.js';
import { UsageError } from '../errors.js';
import { withOvs } from './composite.js';
import { OvsRunner } from './ovs-runner.js';
import { IpsecRunner } from '../ipsec/runner.js';

export type BackendName = 'netlink' | 'iproute2' | 'auto';

/** The part of the netlink module selectBackend needs. */
export interface NetlinkModule {
  createNetlinkBackend: (opts?: { exec?: Executor; onNotice?: (message: string) => void }) => Promise<Backend>;
}

/** Loads the netlink module lazily: the native part must not be needed for validate/plan or on other platforms. */
export const loadNetlinkModule = async (): Promise<NetlinkModule> =>
  (await import(new URL('./netlink/index.js', import.meta.url).href)) as NetlinkModule;

/**
 * The backend the engine uses: the chosen kernel backend, wrapped so that OVS operations go
 * to the OVS runner (whichever kernel backend is in use).
 */
export async function selectBackend(
  name: BackendName,
  exec: Executor,
  notice: (msg: string, level?: 'info' | 'warning') => void,
  /** Injectable for tests (e.g. a module that cannot load); default: the real netlink module. */
  loadNetlink: () => Promise<NetlinkModule> = loadNetlinkModule,
): Promise<Backend> {
  return withOvs(await selectKernelBackend(name, exec, notice, loadNetlink), new OvsRunner(exec, notice), new IpsecRunner(exec, notice));
}

export async function selectKernelBackend(
  name: BackendName,
  exec: Executor,
  notice: (msg: string) => void,
  loadNetlink: () => Promise<NetlinkModule> = loadNetlinkModule,
): Promise<Backend> {
  if (name !== 'netlink' && name !== 'iproute2' && name !== 'auto') throw new UsageError(`unknown backend "${name}": use netlink or iproute2`);
  if (name === 'iproute2') return createIproute2Backend(exec);
  try {
    const mod = await loadNetlink();
    return await mod.createNetlinkBackend({ exec, onNotice: notice }); // read-back notices (e.g. an ignored attribute) reach the user
  } catch (e) {
    if (name === 'netlink') throw new UsageError(`the netlink backend cannot be used here: ${(e as Error).message}`);
    notice(`netlink backend unavailable (${(e as Error).message.split('\n')[0]}); using iproute2`);
    return createIproute2Backend(exec);
  }
}
