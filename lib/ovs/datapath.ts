/**
 * Which OVS datapath a host uses: the kernel one (`system`) when the openvswitch module is
 * loaded or loadable, else the userspace one (`netdev`). A recipe can force either.
 */
import type { Executor } from '../exec/executor.js';

export type Datapath = 'system' | 'netdev';

export interface DatapathProbe {
  moduleLoaded: boolean;
  moduleLoadable: boolean;
}

export interface DatapathChoice {
  datapath: Datapath;
  reason: string;
}

export function chooseDatapath(requested: 'auto' | Datapath, probe: DatapathProbe): DatapathChoice {
  if (requested !== 'auto') {
    const why = requested === 'system' && !probe.moduleLoaded && !probe.moduleLoadable ? ' (forced; the openvswitch kernel module is NOT available, so bridges will fail)' : ' (set in the recipe)';
    return { datapath: requested, reason: `${requested}${why}` };
  }
  if (probe.moduleLoaded) return { datapath: 'system', reason: 'system: openvswitch kernel module is loaded' };
  if (probe.moduleLoadable) return { datapath: 'system', reason: 'system: openvswitch kernel module can be loaded' };
  return { datapath: 'netdev', reason: 'netdev (userspace): no openvswitch kernel module on this kernel' };
}

/** Look at the running kernel: /sys/module/openvswitch (loaded or built in), `modprobe -n` (loadable). */
export async function probeDatapath(exec: Executor): Promise<DatapathProbe> {
  const loaded = await exec.run(['test', '-d', '/sys/module/openvswitch']);
  if (loaded.exitCode === 0) return { moduleLoaded: true, moduleLoadable: true };
  const loadable = await exec.run(['modprobe', '-n', '-q', 'openvswitch']);
  return { moduleLoaded: false, moduleLoadable: loadable.exitCode === 0 };
}
