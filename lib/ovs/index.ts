/** Open vSwitch layer: daemons per simulated host, tunnel ports, Geneve TLVs, status. */
export * from './commands.js';
export * from './daemons.js';
export * from './datapath.js';
export * from './errors.js';
export * from './flows.js';
export * from './from-model.js';
export * from './instance.js';
export * from './ipsec.js';
export * from './mtu.js';
export * from './ovsdb-json.js';
export * from './paths.js';
export * from './status.js';
export * from './tlv.js';
export * from './tunnel-port.js';
export * from './vsctl.js';
