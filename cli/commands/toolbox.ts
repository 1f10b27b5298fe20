/**
 * The operator's toolbox for a running lab: exec, shell, ovs, capture, graph, inspect-style
 * status. Wiring only: the logic lives in lib/inspect and lib/graph.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { StateStore } from '../../lib/engine/state.js';
import { UsageError } from '../../lib/errors.js';
import { runningLab } from '../../lib/inspect/lab.js';
import { invocation, nodeTarget, ovsInvocation, shellArgv } from '../../lib/inspect/target.js';
import { runAttached } from '../../lib/inspect/spawn.js';
import { printJson } from '../output.js';
import type { GlobalOptions } from '../context.js';
import { checkStateDir, requireRoot } from '../guards.js';

type Run = (fn: () => Promise<number>, json?: boolean) => Promise<void>;

/** A whole number ≥ 1 (or a positive number of seconds), or a usage error naming the option. */
function positive(option: string, v: string | undefined, whole: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) throw new UsageError(`${option} ${v}: give ${whole ? 'a whole number ≥ 1' : 'a number of seconds > 0'}`);
  return n;
}

/** Commander passes the "--" that ends our options through with the command: drop it. */
const afterDashes = (args: string[]) => (args[0] === '--' ? args.slice(1) : args);

export function registerToolboxCommands(program: Command, run: Run, globals: () => GlobalOptions): void {
  const store = () => new StateStore(checkStateDir(globals().stateDir));

  program
    .command('exec')
    .description('run a command in a node of a running lab (its namespace, or over SSH); exits with its code')
    .usage('<lab> <node> -- <command…>')
    .argument('<lab>', 'lab name')
    .argument('<node>', 'host, guest, switch or router')
    .argument('[command...]', 'the command and its arguments (after --)')
    .passThroughOptions()
    .action((lab: string, node: string, command: string[]) =>
      run(async () => {
        requireRoot('exec');
        const st = runningLab(store(), lab);
        return runAttached(invocation(nodeTarget(st.model, node, st.remotes), afterDashes(command), { tty: process.stdin.isTTY }));
      }),
    );

  program
    .command('shell')
    .description('an interactive shell in a node of a running lab')
    .argument('<lab>', 'lab name')
    .argument('<node>', 'host, guest, switch or router')
    .action((lab: string, node: string) =>
      run(async () => {
        requireRoot('shell');
        const st = runningLab(store(), lab);
        const t = nodeTarget(st.model, node, st.remotes);
        if (!t.ssh) process.stderr.write(`geneve-lab: shell in ${t.kind} "${node}" (netns ${t.ns}); exit to leave\n`);
        return runAttached(invocation(t, shellArgv(), { tty: true, env: { GENEVE_LAB_NODE: `${lab}/${node}` } }));
      }),
    );

  program
    .command('ovs')
    .description("run ovs-vsctl/ovs-ofctl/ovs-appctl against an OVS switch's own instance (its db and control sockets)")
    .usage('<lab> <switch> -- vsctl|ofctl|appctl|dpctl <args…>')
    .argument('<lab>', 'lab name')
    .argument('<switch>', 'OVS switch (or the host it runs on)')
    .argument('[tool-and-args...]', 'vsctl, ofctl, appctl or dpctl, then its arguments')
    .passThroughOptions()
    .action((lab: string, sw: string, rest: string[]) =>
      run(async () => {
        requireRoot('ovs');
        const [tool, ...args] = afterDashes(rest);
        if (!tool) throw new UsageError('ovs: say which tool, e.g. `geneve-lab ovs LAB SWITCH -- vsctl show`');
        const s = store();
        const st = runningLab(s, lab);
        return runAttached(ovsInvocation(st.model, sw, tool, args, join(s.dir, 'run'), st.remotes));
      }),
    );

  program
    .command('capture')
    .description('live capture in a node of a running lab: one decoded line a packet (outer, VNI, options, inner), or pcap with -w -')
    .argument('<lab>', 'lab name')
    .argument('<node[:iface]>', 'host, guest, switch or router; then an interface (a network, tunnel or interface name; any)')
    .option('-w, --write <file>', '"-": write pcap to stdout (| tshark -r -, | wireshark -k -i -)')
    .option('-f, --filter <expr>', 'capture filter (tcpdump/BPF syntax), e.g. "udp port 6081"')
    .option('-c, --count <n>', 'stop after this many packets')
    .option('-d, --duration <seconds>', 'stop after this long')
    .option('--json', 'one JSON document once the capture ends, with every decoded packet')
    .action((lab: string, where: string, o: { write?: string; filter?: string; count?: string; duration?: string; json?: boolean }) =>
      run(async () => {
        if (o.write !== undefined && o.write !== '-') throw new UsageError(`-w ${o.write}: only "-" (stdout) is supported; redirect it to a file: -w - > capture.pcap`);
        const count = positive('--count', o.count, true);
        const durationS = positive('--duration', o.duration, false);
        requireRoot('capture');
        const { parseCaptureWhere, captureTarget, tcpdumpArgv, dieWithParent, liveCapture } = await import('../../lib/inspect/capture-live.js');
        const { decodeOptionsFor } = await import('../../lib/checks/capture.js');
        const { packetLine } = await import('../../lib/ui/packet-lines.js');
        const st = runningLab(store(), lab);
        const { node, iface } = parseCaptureWhere(where);
        const t = nodeTarget(st.model, node, st.remotes);
        const cap = captureTarget(st.model, t, iface);
        const filter = [cap.filter, o.filter].filter(Boolean).map((f) => `(${f})`).join(' and ') || undefined;
        const spec = { ...(count !== undefined ? { count } : {}), ...(durationS !== undefined ? { durationS } : {}), ...(filter ? { filter } : {}) };
        const inv = dieWithParent(invocation(t, tcpdumpArgv(cap.ifname, spec)));
        const say = (m: string) => process.stderr.write(`geneve-lab: ${m}\n`);
        if (cap.note) say(cap.note);
        // Ctrl-C and SIGTERM end the capture (tcpdump flushes what it has); so does a reader of
        // our stdout that went away (| head): the first one stops it, nothing is left running.
        const stopper = new AbortController();
        let signalled: NodeJS.Signals | undefined;
        const onSig = (s: NodeJS.Signals) => () => {
          signalled ??= s;
          stopper.abort();
        };
        const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, onSig(s)] as const);
        for (const [s, h] of handlers) process.on(s, h);
        const onStdoutError = () => stopper.abort();
        process.stdout.on('error', onStdoutError);
        const packets: unknown[] = [];
        let result;
        try {
          result = await liveCapture({
            inv,
            ...spec,
            ...(o.write === '-' ? { pcapOut: process.stdout } : {}),
            decode: decodeOptionsFor({ lab: st.model } as never, {}),
            // --json is one document at the end (the packets in it); the text view is live.
            onPacket: (p) => (o.json ? packets.push(p) : process.stdout.write(packetLine(p) + '\n')),
            onStderr: (text) => {
              for (const l of text.split('\n')) if (/listening on/.test(l)) say(`capturing on ${cap.ifname} in ${t.ns ? `netns ${t.ns}` : `host "${t.host}"`}${filter ? ` (filter: ${filter})` : ''}; Ctrl-C stops`);
            },
            signal: stopper.signal,
          });
        } finally {
          for (const [s, h] of handlers) process.off(s, h);
          process.stdout.off('error', onStdoutError);
        }
        if (o.json && !o.write) printJson({ lab, node, ifname: cap.ifname, ...(filter ? { filter } : {}), count: result.packets, ended: result.ended, ...(signalled ? { signal: signalled } : {}), packets });
        else say(`${result.packets} packet${result.packets === 1 ? '' : 's'} captured on ${cap.ifname}${signalled ? ` (stopped by ${signalled})` : result.ended === 'reader-gone' ? ' (the reader of the output went away)' : ''}`);
        // A capture that the user stopped has done its job: exit 0, as tcpdump and tshark do.
        return 0;
      }, o.json),
    );

  program
    .command('graph')
    .description('the topology as a picture: Mermaid, Graphviz DOT or SVG (hosts, switches, guests, tunnels, networks; check verdicts)')
    .argument('<recipe|lab>', 'recipe file, or the name of a lab that is up')
    .option('--format <format>', 'mermaid | dot | svg', 'mermaid')
    .option('--results <file>', 'check results (the JSON of `up/check/run --json`): label the checks with their verdicts')
    .option('-o, --output <file>', 'write here instead of stdout')
    .action((arg: string, o: { format: string; results?: string; output?: string }) =>
      run(async () => {
        const { existsSync, readFileSync, statSync, writeFileSync } = await import('node:fs');
        const { labGraph, verdictsOf } = await import('../../lib/graph/model.js');
        const { toDot, toMermaid, toSvg } = await import('../../lib/graph/render.js');
        if (!['mermaid', 'dot', 'svg'].includes(o.format)) throw new UsageError(`--format ${o.format}: use mermaid, dot or svg`);
        let model;
        if (existsSync(arg) && statSync(arg).isFile()) {
          const { loadRecipeFile } = await import('../../lib/recipe/load.js');
          model = (await loadRecipeFile(arg)).lab;
        } else if (/^[a-z][a-z0-9-]*$/.test(arg)) model = runningLab(store(), arg).model;
        else throw new UsageError(`"${arg}" is neither a recipe file nor a lab name`);
        let verdicts;
        if (o.results) {
          let json;
          try {
            json = JSON.parse(readFileSync(o.results, 'utf8')) as unknown;
          } catch (e) {
            throw new UsageError(`--results ${o.results}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}; give the output of \`geneve-lab check LAB --json\``);
          }
          verdicts = verdictsOf(json);
          if (!verdicts.size) throw new UsageError(`--results ${o.results}: no check results in it (expected a "checks" list of {name, status}, as \`geneve-lab check LAB --json\` prints)`);
          const unknown = [...verdicts.keys()].filter((n) => !model.checks.some((c) => c.name === n));
          if (unknown.length) process.stderr.write(`geneve-lab: --results: ${unknown.length} result(s) name no check of lab "${model.name}": ${unknown.join(', ')}\n`);
        }
        const g = labGraph(model, verdicts);
        const text = o.format === 'dot' ? toDot(g) : o.format === 'svg' ? await toSvg(g) : toMermaid(g);
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
        return 0;
      }),
    );
}
