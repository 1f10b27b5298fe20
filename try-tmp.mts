import { loadRecipeFile } from '/work/main/lib/recipe/load.ts';
for (const f of process.argv.slice(2)) {
  try { const r = await loadRecipeFile(f); console.log(f, 'OK', JSON.stringify(r.lab).slice(0, 3000), r.warnings); }
  catch (e: any) { console.log(f, e.constructor.name, e.message); }
}
