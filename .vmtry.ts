import { runInVm } from './lib/vm/run.ts';
const r = await runInVm({ argv: process.argv.slice(2), onProgress: (m) => console.error('progress:', m), accel: 'auto' });
console.error(r);
