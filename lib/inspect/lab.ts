/** The recorded state of a lab the operator's verbs act on: it must be up (or running its checks). */
import { LabNotUpError } from '../errors.js';
import type { LabState, StateStore } from '../engine/state.js';

export function runningLab(store: StateStore, name: string): LabState {
  const st = store.read(name);
  if (!st) {
    const known = store.list();
    throw new LabNotUpError(name, `no lab of that name in ${store.dir}${known.length ? ` (labs there: ${known.join(', ')})` : ''}; run \`geneve-lab up RECIPE\` first, or give the --state-dir it was brought up with`);
  }
  if (st.phase !== 'up' && st.phase !== 'checking')
    throw new LabNotUpError(name, `its last command stopped while ${st.phase}: run \`geneve-lab gc\` (or \`geneve-lab down ${name}\`), then \`geneve-lab up RECIPE\``);
  return st;
}
