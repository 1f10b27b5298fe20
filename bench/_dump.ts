import { readFileSync } from 'node:fs';
import { loadRecipeText } from '../lib/recipe/load.js';
import { Engine } from '../lib/engine/engine.js';
import { StateStore } from '../lib/engine/state.js';
import { LocalExecutor } from '../lib/exec/executor.js';
import { createNetlinkBackend } from '../lib/backends/netlink/index.js';
import { dumpNamespace } from '../test/priv/netlink/kernel-dump.js';
const exec = new LocalExecutor();
const { lab } = loadRecipeText(readFileSync('recipes/quickstart.yaml','utf8').replace(/^lab: .*/m,'lab: dmpx1'), 'q.yaml');
const e = new Engine({ exec, backend: await createNetlinkBackend(), store: new StateStore('/tmp/dmpstate') });
try { await e.up(lab); console.log(JSON.stringify(dumpNamespace('gl-dmpx1-box-1'), null, 1)); } finally { await e.down('dmpx1'); }
