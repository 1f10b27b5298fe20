/** up, run, down, status, check, gc, doctor: the commands that act on the system. */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { loadRecipeFile } from '../../lib/recipe/load.js';
import { formatProblem, InterruptedError, PrerequisiteError, LabError, LabIsUpError, LabNotUpError, ExitCode, UsageError, describeFailure } from '../../lib/errors.js';
import { assertRequirements, doctor, startKernelProbe } from '../../lib/doctor/doctor.js';
import { LocalExecutor } from '../../lib/exec/executor.js';
import type { FeatureProbe } from '../../lib/doctor/probes.js';
import { contextFromLab } from '../../lib/checks/context.js';
import { runScenario } from '../../lib/scenario/run.js';
import { scenarioContext } from '../../lib/scenario/context.js';
import type { CheckResult } from '../../lib/checks/result.js';
import type { Lab } from '../../lib/model/types.js';
import type { Plan } from '../../lib/plan/ops.js';
import type { Engine } from '../../lib/engine/engine.js';
import { makeEngine, type GlobalOptions } from '../context.js';
import { printJson, noteLab, noteLabOfRecipe } from '../output.js';
import { toJsonReport } from '../../lib/report/json.js';
import { formatTable, tableLayoutFor, useColor } from '../../lib/report/table.js';
import { withJunitOutcome, type WriteJunitResults } from '../junit-outcome.js';
import { writeArtifacts } from '../../lib/report/artifacts.js';
import { join } from 'node:path';
import { formatStatus } from '../../lib/ovs/status.js';
import type { CheckVerb } from '../../lib/engine/state.js';
import { requireRoot } from '../guards.js';
import { Interrupts } from '../interrupt.js';
import { formatOffloads } from '../../lib/engine/offload-status.js';
import { formatInspect, inspectRecorded } from '../../lib/inspect/inspect.js';

/** Check results for `--json`: a summary and every check with its raw output and details. */
function checksJson(lab: string, results: CheckResult[]) {
  const { summary, checks } = toJsonReport(lab, results, { includeRaw: true, includeDetails: true });
  return { summary, checks };
}

const formatResults = (results: CheckResult[]) =>
  formatTable(results, { ...tableLayoutFor(process.stdout), color: useColor(process.stdout) });

interface LabCmdOptions {
  json?: boolean;
  verbose?: boolean;
  checks?: boolean;
  junit?: string;
  artifacts?: string;
  /** `up --tui`: build the lab inside the interactive TUI (cli/commands/tui-wiring.ts). */
  tui?: boolean;
  /** The global --jobs (merged in from globals()). */
  jobs?: number;
}

async function loadLab(file: string, json?: boolean): Promise<Lab> {
  noteLabOfRecipe(file);
  const { lab, warnings } = await loadRecipeFile(file);
  noteLab(lab.name);
  if (!json) for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
  return lab;
}

/** `down`/`check` accept a recipe file or a lab name. */
async function labNameOf(arg: string): Promise<string> {
  const name = await labNameIn(arg);
  noteLab(name);
  return name;
}

async function labNameIn(arg: string): Promise<string> {
  if (existsSync(arg) && statSync(arg).isFile()) {
    try {
      return (await loadRecipeFile(arg)).lab.name;
    } catch {
      // An invalid recipe can still name its lab: enough to tear it down.
      const name = noteLabOfRecipe(arg);
      if (name) return name;
      throw new UsageError(`${arg}: cannot find the lab name in this recipe`);
    }
  }
  if (!/^[a-z][a-z0-9-]*$/.test(arg)) throw new UsageError(`"${arg}" is neither a recipe file nor a lab name`);
  return arg;
}

/**
 * Run the lab's checks, then its scenario steps (lib/scenario/run.ts), as `verb`: the state says
 * `checking` meanwhile and every helper process and temporary file is on record (so a crash leaves
 * nothing gc cannot find); `signal` (Ctrl-C) stops them. The lab is left up either way.
 */
async function runLabChecks(engine: Engine, lab: Lab, o: LabCmdOptions, verb: CheckVerb, writeJunit: WriteJunitResults, signal?: AbortSignal): Promise<CheckResult[]> {
  if (!lab.checks.length && !lab.steps?.length) {
    writeJunit(lab.name, []);
    return [];
  }
  const registry = engine.beginChecks(lab.name, verb, signal);
  let results: CheckResult[];
  let ctx;
  try {
    engine.bus.emit({ type: 'phase', phase: 'checks', state: 'start', lab: lab.name });
    // SSH hosts: checks run over the same connections (connect is a no-op when already open) and
    // see the hosts' real underlay interface names.
    const execFor = (h: string) => registry.wrap(engine.execFor(h), h);
    ctx = contextFromLab(await engine.connect(lab), registry.wrap(engine.exec), execFor, { runRoot: join(engine.store.dir, 'run') });
    // Steps change the lab through the engine (applyRuntime), so down still removes exactly what it made.
    const sctx = scenarioContext(
      {
        ...ctx,
        ...(o.artifacts ? { artifactsDir: o.artifacts } : {}),
        ...(signal ? { signal } : {}),
        ...(o.jobs ? { jobs: o.jobs } : {}),
        tempDir: (ep, prefix) => registry.tempDir(ep.exec, prefix, ep.host),
      },
      { runtime: engine, execFor, runRoot: join(engine.store.dir, 'run') },
    );
    results = await runScenario(ctx.lab, sctx, engine.bus);
    engine.bus.emit({ type: 'phase', phase: 'checks', state: 'done', lab: lab.name });
  } finally {
    await engine.endChecks(lab.name, registry);
  }
  if (signal?.aborted) return results;
  writeJunit(lab.name, results);
  if (o.artifacts) {
    // Collected while the lab still exists (before `run` tears it down).
    const files = await writeArtifacts(o.artifacts, ctx.lab, results, engine.exec, { execForHost: (h) => engine.execFor(h), ovsRunRoot: join(engine.store.dir, 'run') });
    if (files.length && !o.json) process.stderr.write(`artifacts of failed checks: ${o.artifacts} (${files.length} files)\n`);
  }
  return results;
}

const failedAny = (rs: CheckResult[]) => rs.some((r) => r.status !== 'passed');

/**
 * Everything the lab will need, before any change: kernel features, and every program its plan
 * and (unless `checks: false`) its checks run — here with the PATH the run uses, and on each SSH
 * host (connected here, as `up` would). Missing → exit 3 with the fix.
 */
export async function assertPrerequisites(engine: Engine, lab: Lab, o: { checks: boolean; probing?: Promise<FeatureProbe[] | undefined> | undefined }): Promise<void> {
  const connected = await engine.connect(lab);
  // The planner may refuse too (e.g. IPsec on the userspace datapath): every missing piece is
  // reported at once, the kernel's first (a missing ESP is the more fundamental fix).
  let plan: Plan | undefined;
  let refused: PrerequisiteError | undefined;
  try {
    plan = await engine.plan(connected);
  } catch (e) {
    if (!(e instanceof PrerequisiteError)) throw e;
    refused = e;
  }
  try {
    await assertRequirements(connected, engine.exec, await o.probing, { plan: plan ?? { lab: lab.name, tag: connected.tag, namespaces: [], steps: [] }, checks: o.checks, remote: (h) => engine.remotes.exec(h) });
  } catch (e) {
    if (refused && e instanceof PrerequisiteError) throw new PrerequisiteError([...e.missing, ...refused.missing]);
    throw e;
  }
  if (refused) throw refused;
}

export function registerLabCommands(
  program: Command,
  run: (fn: () => Promise<number>, json?: boolean) => Promise<void>,
  globals: () => GlobalOptions,
): void {
  const withCheckOptions = (c: Command) =>
    c
      .option('--json', 'machine-readable output')
      .option('-v, --verbose', 'print every step')
      .option('--junit <file>', 'write check results as JUnit XML')
      .option('--artifacts <dir>', 'write raw outputs and captures of failed checks here');

  withCheckOptions(
    program
      .command('up')
      .description('create the lab described by a recipe, then run its checks')
      .argument('<recipe>', 'recipe YAML file')
      .option('--no-checks', 'only create the lab')
      .option('--tui', 'bring the lab up inside the interactive TUI (like `tui RECIPE`, then u)'),
  ).action((file: string, o: LabCmdOptions) =>
    run(() => withJunitOutcome(o.junit, 'up', async (writeJunit) => {
      if (o.tui) {
        noteLabOfRecipe(file);
        return (await import('./tui-wiring.js')).upWithTui(file, globals(), { checks: o.checks !== false }, writeJunit);
      }
      const lab = await loadLab(file, o.json);
      requireRoot('up');
      const probing = startKernelProbe(lab, new LocalExecutor());
      const engine = await makeEngine({ ...globals(), json: o.json, verbose: o.verbose });
      const interrupts = new Interrupts(engine.bus, { abortable: true });
      // Held across up and its checks: no other geneve-lab process can change the lab meanwhile.
      const lock = engine.lock(lab.name, 'up');
      let outcome;
      let results: CheckResult[] = [];
      try {
        await assertPrerequisites(engine, lab, { checks: o.checks !== false, probing });
        outcome = await engine.up(lab, { signal: interrupts.signal });
        if (o.checks !== false) results = await runLabChecks(engine, lab, { ...o, ...globals() }, 'up', writeJunit, interrupts.signal);
        else writeJunit(lab.name, []);
        if (interrupts.signalled)
          throw new InterruptedError(
            interrupts.signalled,
            `interrupted (${interrupts.signalled}) during the checks of lab "${lab.name}": the checks were stopped and their helper processes ended; the lab is still up (\`geneve-lab down ${lab.name}\` removes it)`,
          );
      } finally {
        lock.release();
        await engine.backend.close();
        interrupts.dispose();
      }
      const code = failedAny(results) ? ExitCode.checkFailed : 0;
      if (o.json) printJson({ up: outcome, ...checksJson(lab.name, results) }, { lab: lab.name, exitCode: code });
      else {
        process.stdout.write(
          outcome.changed
            ? `lab "${lab.name}" is up (${outcome.applied} steps, ${outcome.durationMs} ms, backend ${engine.backend.name})\n`
            : `lab "${lab.name}" was already up: nothing changed\n`,
        );
        if (results.length) process.stdout.write(formatResults(results));
      }
      return code;
    }), o.json),
  );

  withCheckOptions(
    program
      .command('run')
      .description('up, check and down in one go (the lab is always torn down)')
      .argument('<recipe>', 'recipe YAML file'),
  ).action((file: string, o: LabCmdOptions) =>
    run(() => withJunitOutcome(o.junit, 'run', async (writeJunit) => {
      const lab = await loadLab(file, o.json);
      requireRoot('run');
      const probing = startKernelProbe(lab, new LocalExecutor());
      const engine = await makeEngine({ ...globals(), json: o.json, verbose: o.verbose });
      const interrupts = new Interrupts(engine.bus, { abortable: true });
      let results: CheckResult[] = [];
      let outcome;
      // `run` removes only what it created: a lab that `up` built is refused, never torn down.
      const lock = engine.lock(lab.name, 'run');
      let created = false;
      try {
        const existing = engine.store.read(lab.name);
        if (existing && (existing.phase === 'up' || (existing.phase === 'checking' && existing.checking?.verb !== 'run'))) throw new LabIsUpError(lab.name);
        await assertPrerequisites(engine, lab, { checks: true, probing });
        outcome = await engine.up(lab, { signal: interrupts.signal });
        created = true;
        results = await runLabChecks(engine, lab, { ...o, ...globals() }, 'run', writeJunit, interrupts.signal);
      } finally {
        try {
          if (created) {
            const report = await engine.down(lab.name);
            if (report.failures.length) throw new LabError(`lab "${lab.name}" could not be removed completely`, ExitCode.applyFailed, { code: 'teardown_incomplete' });
          }
        } finally {
          lock.release();
          await engine.backend.close();
          interrupts.dispose();
        }
      }
      if (interrupts.signalled)
        throw new InterruptedError(interrupts.signalled, `interrupted (${interrupts.signalled}) during the checks of lab "${lab.name}": the checks were stopped and the lab was torn down`);
      const code = failedAny(results) ? ExitCode.checkFailed : 0;
      if (o.json) printJson({ up: outcome, ...checksJson(lab.name, results), tornDown: true }, { lab: lab.name, exitCode: code });
      else {
        if (results.length) process.stdout.write(formatResults(results));
        process.stdout.write(`lab "${lab.name}": ${failedAny(results) ? 'CHECKS FAILED' : 'all checks passed'}; torn down\n`);
      }
      return code;
    }), o.json),
  );

  withCheckOptions(
    program.command('check').description('re-run the checks of a running lab').argument('<recipe|lab>', 'recipe file or lab name'),
  ).action((arg: string, o: LabCmdOptions) =>
    run(() => withJunitOutcome(o.junit, 'check', async (writeJunit) => {
      const name = await labNameOf(arg);
      requireRoot('check');
      const engine = await makeEngine({ ...globals(), json: o.json, verbose: o.verbose });
      const interrupts = new Interrupts(engine.bus, { abortable: true });
      const lock = engine.lock(name, 'check');
      let results: CheckResult[];
      try {
        const state = engine.store.read(name);
        if (!state) throw new LabNotUpError(name, 'run `geneve-lab up RECIPE` first');
        if (state.phase !== 'up' && !(state.phase === 'checking' && state.checking?.verb !== 'run'))
          throw new LabNotUpError(name, `its last command stopped while ${state.phase}: run \`geneve-lab gc\` (or \`geneve-lab down ${name}\`), then \`geneve-lab up RECIPE\``);
        // Checks of the recipe file when one is given (it may have new checks), else the recorded ones.
        const lab = existsSync(arg) ? await loadLab(arg, o.json) : state.model;
        // The checks' programs, here and on the SSH hosts, before any check starts (exit 3, not a "failed" check).
        await engine.connect(lab);
        await assertRequirements(lab, engine.exec, [], { plan: { lab: lab.name, tag: state.tag, namespaces: [], steps: [] }, remote: (h) => engine.remotes.exec(h) });
        results = await runLabChecks(engine, lab, { ...o, ...globals() }, 'check', writeJunit, interrupts.signal);
      } finally {
        lock.release();
        await engine.backend.close();
        interrupts.dispose();
      }
      if (interrupts.signalled)
        throw new InterruptedError(interrupts.signalled, `interrupted (${interrupts.signalled}): the checks of lab "${name}" were stopped and their helper processes ended; the lab is still up`);
      const code = failedAny(results) ? ExitCode.checkFailed : 0;
      if (o.json) printJson(checksJson(name, results), { lab: name, exitCode: code });
      else process.stdout.write(results.length ? formatResults(results) : `lab "${name}" has no checks\n`);
      return code;
    }), o.json),
  );

  program
    .command('down')
    .description('remove exactly what the lab created')
    .argument('<recipe|lab>', 'recipe file or lab name')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'print every undo with its duration')
    .action((arg: string, o: { json?: boolean; verbose?: boolean }) =>
      run(async () => {
        const name = await labNameOf(arg);
        requireRoot('down');
        const engine = await makeEngine({ ...globals(), json: o.json, verbose: o.verbose });
        // Undoing from the start: Ctrl-C only says how to abandon, the next one abandons (gc finishes).
        const interrupts = new Interrupts(engine.bus, { abortable: false });
        let r;
        try {
          r = await engine.down(name);
        } finally {
          await engine.backend.close();
          interrupts.dispose();
        }
        if (!r.found) throw new LabNotUpError(name, 'nothing to remove');
        if (o.json) printJson(r, { lab: name, exitCode: r.failures.length ? ExitCode.applyFailed : 0 });
        else if (r.failures.length) throw new LabError(`lab "${name}": ${r.failures.length} object(s) could not be removed`, ExitCode.applyFailed, { code: 'teardown_incomplete' });
        else process.stdout.write(`lab "${name}" is down (${r.undone} objects removed)\n`);
        return r.failures.length ? ExitCode.applyFailed : 0;
      }, o.json),
    );

  program
    .command('status')
    .description('show labs and the objects they own')
    .argument('[lab]', 'lab name')
    .option('--json', 'machine-readable output')
    .action((name: string | undefined, o: { json?: boolean }) =>
      run(async () => {
        // It enters the labs' namespaces to list their links.
        requireRoot('status');
        const engine = await makeEngine({ ...globals(), json: o.json, quiet: true });
        let labs = await engine.status(name);
        // A named lab: also the inspect view, node by node and tunnel by tunnel (lib/inspect/inspect.ts).
        const inspected = name && labs[0] ? await inspectRecorded(engine, labs[0]) : undefined;
        if (inspected) labs = [{ ...labs[0]!, ...inspected }];
        if (o.json) printJson({ labs }, { lab: name ?? null, exitCode: name && !labs.length ? ExitCode.invalidInput : 0 });
        else if (!labs.length) process.stdout.write(name ? `lab "${name}" is not known\n` : 'no labs\n');
        else
          for (const l of labs) {
            process.stdout.write(`lab ${l.lab}: ${l.phase}${l.crashed ? ' (CRASHED: run `geneve-lab gc`)' : ''}${l.source ? ` — ${l.source}` : ''}\n`);
            for (const ns of l.namespaces) {
              process.stdout.write(`  netns ${ns.name}${ns.present ? '' : ' (MISSING)'}\n`);
              for (const k of ns.links) process.stdout.write(`    ${k.ifname.padEnd(16)} ${(k.kind ?? '').padEnd(8)} ${(k.state ?? '').padEnd(8)}${k.offloads ? ` ${formatOffloads(k.offloads)}` : ''}\n`.replace(/ +\n$/, '\n'));
            }
            for (const o of l.ovs ?? []) {
              process.stdout.write(`  OVS on host ${o.host} (netns ${o.ns})${o.error ? `: not answering: ${o.error}` : ''}\n`);
              if (o.status) process.stdout.write(formatStatus(o.status).replace(/^/gm, '    ') + '\n');
            }
            if (inspected) process.stdout.write(`lab ${l.lab}, node by node:\n${formatInspect(inspected)}`);
          }
        return name && !labs.length ? ExitCode.invalidInput : 0;
      }, o.json),
    );

  program
    .command('gc')
    .description('remove what crashed labs left behind (only objects tagged as geneve-lab\'s)')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'print every undo with its duration')
    .action((o: { json?: boolean; verbose?: boolean }) =>
      run(async () => {
        requireRoot('gc');
        const engine = await makeEngine({ ...globals(), json: o.json, verbose: o.verbose });
        const interrupts = new Interrupts(engine.bus, { abortable: false });
        let r;
        try {
          r = await engine.gc();
        } finally {
          await engine.backend.close();
          interrupts.dispose();
        }
        if (o.json) printJson(r, { exitCode: r.failures.length ? ExitCode.applyFailed : 0 });
        else if (!r.labs.length && !r.namespaces.length && !r.checks.length && !r.connections.length) process.stdout.write('nothing to collect\n');
        else
          process.stdout.write(
            `collected: ${[
              ...r.labs.map((l) => `lab ${l}`),
              ...r.checks.map((l) => `checks of lab ${l} (the lab stays up)`),
              ...r.namespaces.map((n) => `netns ${n}`),
              ...r.connections.map((c) => `SSH connection to ${c.host} (${c.id})`),
            ].join(', ')}\n`,
          );
        if (!o.json && r.failures.length)
          process.stderr.write(`gc: ${r.failures.length} thing(s) could not be collected:\n${r.failures.map((f) => '  ' + describeFailure(f)).join('\n')}\n`);
        return r.failures.length ? ExitCode.applyFailed : 0;
      }, o.json),
    );

  program
    .command('doctor')
    .description('what this machine can run, and how to fix what is missing')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) =>
      run(async () => {
        const extra = [];
        try {
          const vm = (await import(new URL('../../lib/vm/doctor.js', import.meta.url).href)) as { vmDoctor?: () => Promise<never[]> };
          if (vm.vmDoctor) extra.push(vm.vmDoctor);
        } catch {
          /* the vm module is optional */
        }
        const items = await doctor(new LocalExecutor(), extra);
        if (o.json) printJson({ items });
        else
          for (const i of items)
            process.stdout.write(`${i.ok ? ' ok ' : 'MISS'}  ${i.area.padEnd(10)} ${i.feature.padEnd(20)} ${i.detail}${i.fix ? `\n${' '.repeat(38)}fix: ${i.fix}` : ''}\n`);
        return 0;
      }, o.json),
    );
}
