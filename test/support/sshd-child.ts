/**
 * Child process for the fixture-sweep test: starts a fake SSH lab of one box (lab name in
 * argv[2]), prints what it made as one JSON line and waits to be killed — its teardown never runs.
 */
import { startSshLab } from './sshd.js';

const lab = await startSshLab(process.argv[2]!, 1);
process.stdout.write(JSON.stringify({ dir: lab.dir, namespaces: [lab.clientNs, ...lab.boxes.map((b) => b.ns)], sshd: lab.boxes.map((b) => b.pid) }) + '\n');
setInterval(() => {}, 1 << 30);
