import { mkdtempSync } from 'node:fs';
import { loadRecipeText } from '../lib/recipe/load.js';
import { Engine } from '../lib/engine/engine.js';
import { StateStore } from '../lib/engine/state.js';
import { LocalExecutor } from '../lib/exec/executor.js';
import { createNetlinkBackend } from '../lib/backends/netlink/index.js';
import { EventBus } from '../lib/engine/events.js';
import { scaleLayout, scaleRecipe } from './scale-recipe.js';
const n = Number(process.argv[2]); const labn = process.argv[3]!;
const exec = new LocalExecutor();
const bus = new EventBus();
const agg = new Map<string, [number, number]>();
bus.on?.((e: any) => { if (e.type === 'step-done') { const k = e.step.op.op + (e.step.op.link ? ':' + e.step.op.link.kind : ''); const a = agg.get(k) ?? [0, 0]; a[0] += e.durationMs; a[1]++; agg.set(k, a); } });
const e = new Engine({ exec, backend: await createNetlinkBackend(), store: new StateStore(mkdtempSync('/tmp/opp-')), bus });
const { lab } = loadRecipeText(scaleRecipe(scaleLayout(labn, n)), 'x.yaml');
const t0 = performance.now();
try { await e.up(lab); console.log('up', performance.now() - t0, 'maxrss', process.resourceUsage().maxRSS, process.memoryUsage()); for (const [k, [ms, c]] of agg) console.log(k, ms.toFixed(1), c); }
finally { const t1 = performance.now(); await e.down(labn); console.log('down', performance.now() - t1, 'maxrss', process.resourceUsage().maxRSS); }
