import { Command } from 'commander';
import { registerVmCommand } from './cli/commands/vm.ts';
const p = new Command('geneve-lab'); p.enablePositionalOptions(); registerVmCommand(p);
await p.parseAsync(process.argv);
