const r0 = process.resourceUsage().maxRSS;
await Promise.all([import('../lib/recipe/load.js'), import('../lib/engine/engine.js'), import('../lib/backends/netlink/index.js'), import('../lib/backends/iproute2/index.js')]);
const { createNetlinkBackend } = await import('../lib/backends/netlink/index.js');
const b = await createNetlinkBackend();
console.log('start', r0, 'after imports+backend', process.resourceUsage().maxRSS, 'rss now', process.memoryUsage());
