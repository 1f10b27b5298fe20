import { readFileSync } from 'node:fs';
import { loadRecipeText } from '../lib/recipe/load.js';
import { planLab } from '../lib/plan/plan.js';
import { renderOp, commandArgv } from '../lib/backends/iproute2/render.js';
const { lab } = loadRecipeText(readFileSync(process.argv[2]!, 'utf8'), 'x.yaml');
for (const s of planLab(lab).steps) console.log(s.id, JSON.stringify(s.op), '|', renderOp(s.op).map(c => commandArgv(c).join(' ')).join(' ; '));
