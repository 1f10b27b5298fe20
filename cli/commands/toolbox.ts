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
import type { GlobalOptions } from '../context.js';
import { checkStateDir, requireRoot } from '../guards.js';

type Run = (fn: () => Promise<number>, json?: boolean) => Promise<void>;

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
}
