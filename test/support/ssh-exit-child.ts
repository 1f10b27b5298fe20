/**
 * Child process for the exit-cleanup test: opens an SSH executor (spec as JSON in argv[2]),
 * starts a remote long-running process, then exits WITHOUT calling close().
 */
import { openSsh } from '../../lib/exec/ssh.js';

const ex = await openSsh(JSON.parse(process.argv[2]!));
ex.start(['sleep', process.argv[3] ?? '3150']);
await new Promise((r) => setTimeout(r, 800));
process.stdout.write('started\n');
process.exit(0);
