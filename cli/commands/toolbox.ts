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
        const { snakeKeys } = await import('../../lib/inspect/snake.js');
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
        if (o.json && !o.write) printJson(snakeKeys({ lab, node, ifname: cap.ifname, ...(filter ? { filter } : {}), count: result.packets, ended: result.ended, ...(signalled ? { signal: signalled } : {}), packets }));
        else say(`${result.packets} packet${result.packets === 1 ? '' : 's'} captured on ${cap.ifname}${signalled ? ` (stopped by ${signalled})` : result.ended === 'reader-gone' ? ' (the reader of the output went away)' : ''}`);
        // A capture that the user stopped has done its job: exit 0, as tcpdump and tshark do.
        return 0;
      }, o.json),
    );
}
