// ava configuration for the kernel (VM) tier when it runs the prebuilt bundles
// (dist/vm-tests/**/*.test.mjs, from `npm run build`; see scripts/bundle.mjs): plain ESM, no tsx.
// Used by test/support/run-tests.js --inner; the TypeScript sources run with package.json's config.
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
};
