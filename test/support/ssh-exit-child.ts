/**
 * Child process for the exit-cleanup and crash tests: opens an SSH executor (spec as JSON in
 * argv[2]), starts a remote long-running process (`sleep MARKER`, argv[3]), then either exits
 * WITHOUT calling close() or, with `--hang`, says so and waits to be killed (kill -9).
 * `--ledger DIR` puts the connection on record there (lib/remote/connections.ts), as the engine does.
 */
import { openSsh, SshExecutor } from '../../lib/exec/ssh.js';
import { ConnectionFiles } from '../../lib/remote/connections.js';

const [specJson, marker = '3150', ...flags] = process.argv.slice(2);
const spec = JSON.parse(specJson!);
const ledgerDir = flags.includes('--ledger') ? flags[flags.indexOf('--ledger') + 1] : undefined;
const ex = ledgerDir ? new SshExecutor(spec, { ledger: new ConnectionFiles(ledgerDir) }) : await openSsh(spec);
if (ledgerDir) await ex.open();
ex.start(['sleep', marker]);
await new Promise((r) => setTimeout(r, 800));
process.stdout.write('started\n');
if (flags.includes('--hang')) setInterval(() => {}, 1 << 30);
else process.exit(0);
