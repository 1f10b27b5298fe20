/** Public entry of the netlink backend. */
export { createNetlinkBackend, NetlinkBackend, type NetlinkBackendOptions, readBackDifferences, sysctlPath } from './backend.js';
export { NetlinkError } from './socket.js';
export * as encode from './encode.js';
export * as decode from './decode.js';
