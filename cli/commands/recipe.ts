/** validate, schema, plan: pure commands that never touch the system. */
import type { Command } from 'commander';
import { loadRecipeFile } from '../../lib/recipe/load.js';
import { recipeJsonSchema } from '../../lib/recipe/schema.js';
import { formatProblem, UsageError } from '../../lib/errors.js';
import { printJson, printRawJson, noteLab, noteLabOfRecipe } from '../output.js';
import { outputSchema, OUTPUT_SCHEMA_VERBS } from '../../lib/report/output-schemas.js';
import type { Plan } from '../../lib/plan/ops.js';

export function formatPlanText(plan: Plan): string {
  const lines = [`plan for lab "${plan.lab}": ${plan.steps.length} steps`];
  let last = '';
  for (const s of plan.steps) {
    if (s.subject !== last) lines.push(`  ${s.subject}`);
    last = s.subject;
    const { op, ...rest } = s.op;
    lines.push(`    ${String(s.id).padStart(3)}. ${op} ${JSON.stringify(rest)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerRecipeCommands(program: Command, run: (fn: () => Promise<number>, json?: boolean) => Promise<void>): void {
  program
    .command('validate')
    .description('check a recipe and report every problem with file:line:column')
    .argument('<recipe>', 'recipe YAML file')
    .option('--json', 'machine-readable output')
    .action((file: string, o: { json?: boolean }) =>
      run(async () => {
        noteLabOfRecipe(file);
        const { lab, warnings } = await loadRecipeFile(file);
        noteLab(lab.name);
        if (o.json) printJson({ warnings }, { lab: lab.name });
        else {
          // As `plan` does: warnings (a renamed >15-byte name, an MTU that does not fit) on stderr.
          for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
          process.stdout.write(
            `${file}: ok — lab "${lab.name}": ${[
              count(lab.hosts.length, 'host'),
              ...(lab.routers?.length ? [count(lab.routers.length, 'router')] : []),
              count(lab.switches.length, 'switch', 'switches'),
              count(lab.guests.length, 'guest'),
              count(lab.tunnels.length, 'tunnel'),
              count(lab.checks.length, 'check'),
              ...(lab.steps?.length ? [count(lab.steps.length, 'step')] : []),
            ].join(', ')}\n`,
          );
        }
        return 0;
      }, o.json),
    );

  program
    .command('schema')
    .description('print the recipe JSON Schema (for editors), or with --output VERB the schema of that verb\'s --json output')
    .option('--output <verb>', `schema of a verb's --json document: ${OUTPUT_SCHEMA_VERBS.join(' | ')}`)
    .action((o: { output?: string }) =>
      run(async () => {
        if (o.output === undefined) printRawJson(recipeJsonSchema());
        else {
          const schema = outputSchema(o.output);
          if (!schema) throw new UsageError(`schema --output ${o.output}: no such verb with --json output; use one of ${OUTPUT_SCHEMA_VERBS.join(', ')}`);
          printRawJson(schema);
        }
        return 0;
      }),
    );

  program
    .command('plan')
    .description('print the operations `up` would run, without touching the system')
    .argument('<recipe>', 'recipe YAML file')
    .option('--format <format>', 'text | sh | json', 'text')
    .action((file: string, o: { format: string }) =>
      run(async () => {
        const { lab, warnings } = await loadRecipeFile(file);
        noteLab(lab.name);
        for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
        // Imported here: `validate` and `schema` need none of the planner.
        const [{ planLab }, { renderShell }, { autoDatapathFor }, { LocalExecutor }] = await Promise.all([
          import('../../lib/plan/plan.js'),
          import('../../lib/backends/iproute2/render.js'),
          import('../../lib/plan/ovs.js'),
          import('../../lib/exec/executor.js'),
        ]);
        // As `up` would: `auto` OVS datapaths resolved on this machine (a read-only probe).
        const { autoDatapath, sshHostsLeftToAuto } = await autoDatapathFor(lab, new LocalExecutor());
        for (const h of sshHostsLeftToAuto)
          process.stderr.write(`note: host "${h}" (ssh): its OVS datapath "auto" is decided on that machine at \`up\`; shown here as ${autoDatapath}, this machine's choice\n`);
        const plan = planLab(lab, { autoDatapath });
        switch (o.format) {
          case 'json':
            printJson(plan);
            break;
          case 'sh':
            process.stdout.write(renderShell(plan.steps));
            break;
          case 'text':
            process.stdout.write(formatPlanText(plan));
            break;
          default:
            throw new UsageError(`unknown plan format "${o.format}": use text, sh or json`);
        }
        return 0;
      }, o.format === 'json'),
    );
}

/** "1 tunnel", "2 tunnels", "1 switch", "0 switches". */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
