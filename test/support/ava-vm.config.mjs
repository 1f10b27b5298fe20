// ava configuration for the kernel (VM) tier when it runs the prebuilt bundles
// (dist/vm-tests/**/*.test.mjs, from `npm run build`; see scripts/bundle.mjs): plain ESM, no tsx.
// Used by test/support/run-tests.js --inner; the TypeScript sources run with package.json's config.

/**
 * The files from the longest to the shortest, as measured in the VM under TCG (one CI run's
 * timeline, seconds per file): two at a time, the tier ends soonest when the long ones start first
 * (ava's default is alphabetical, which left the longest file running alone at the end). A file
 * not listed is assumed long and starts first; add it here once its time is known.
 */
export const LONGEST_FIRST = [
  'scenario/recipes', // ~540 s alone on a loaded host (inject-malformed-geneve twice, scenario-flow-delete: each a full CLI run)
  'look/look-recipes', // ~400 s on a busy machine (four labs: critical option ±, kernel↔OVS with the log gate ±)
  'ipsec/ipsec', // ~300 s estimate (four IPsec labs: IKE under TCG, SSH hosts)
  'scenario/actions', // ~270 s alone on a loaded host (restart on the kernel datapath; set on geneve ends, both backends)
  'ovn/seed004', // ~250 s (up alone took 148 s under TCG at host load ~15: OVS + OVN daemons for three hosts)
  'pmtu-router', // ~200 s estimate (Geneve PMTU through routers, its black-hole twin, Geneve inside Geneve)
  'faults/df', // ~190 s (three labs of three tunnels; 196 s for the whole VM run of this file alone, host load ~1.5)
  'ovs/ssh-ovs-system', // ~180 s (SSH round trips, kernel-datapath OVS on two fake machines)
  'faults/external-tc', // ~175 s
  'look/doc-recipes', // ~180 s (three doc recipes, kernel geneve and IPsec: one CLI run each; 4 min with the VM boot, host idle)
  'ovs/interop', // ~170 s
  'ovs/userspace', // ~150 s estimate (two OVS-userspace ↔ kernel geneve labs with iperf; ~13 min at host load 20)
  'kernel-tier', // ~150 s
  'faults/geneve-mismatch', // ~130 s
  'faults/critical-option', // ~115 s
  'faults/netem-loss', // ~100 s
  'checks/impair-recipe', // ~50 s
  'checks/impair', // ~30 s
  'kernel-geneve', // ~25 s
];

/** Position of a test file in LONGEST_FIRST; -1 (first) when not listed. */
export function rank(file) {
  const rel = file.replace(/\\/g, '/').replace(/^(.*\/)?(dist\/vm-tests|test\/vm)\//, '').replace(/\.test\.[cm]?[jt]sx?$/, '');
  return LONGEST_FIRST.indexOf(rel);
}

export default {
  files: ['dist/vm-tests/**/*.test.mjs'],
  extensions: ['mjs'],
  nodeArguments: [],
  // Under TCG on a loaded host one CLI start can take a minute; a test making several can pass
  // ava's default inactivity timeout.
  timeout: '20m',
  // Two vCPUs: one test file per vCPU. Separate processes keep each file's module state apart.
  concurrency: 2,
  workerThreads: false,
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b),
};
