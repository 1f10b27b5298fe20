/** The geneve-lab process: one command line, from process.argv (bin/geneve-lab.js loads this). */
import { runCli } from './program.js';

await runCli(process.argv);
