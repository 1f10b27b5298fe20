// `node --import ./record-loads.mjs …`: appends the URL of every module the process loads (ESM and
// CommonJS, through module.registerHooks) to the file named by $GENEVE_LAB_RECORD_LOADS.
// Used by test/pure/cli/lazy-load.test.ts to prove what a CLI start does not load.
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.GENEVE_LAB_RECORD_LOADS;
if (out)
  registerHooks({
    load(url, context, next) {
      appendFileSync(out, url + '\n');
      return next(url, context);
    },
  });
