/**
 * The lab's infrastructure devices send nothing of their own, so what a check counts or captures
 * is what the guests and the tunnels sent.
 */
import type { AddStep as Add } from './ops.js';


/**
 * A device that only carries others' frames (a bridge port, a switch or bridge with no address of
 * the recipe, a network's bridge) gets no IPv6 of its own. Otherwise the kernel gives it a
 * link-local address and sends DAD, router solicitations and MLD reports from it for seconds
 * after it comes up: frames no guest sent, counted on the port (a guest's OVS port tx, a tunnel
 * port's rx) and carried through the tunnels, in the very seconds a lab's first checks run. Set
 * before the device comes up, so not one packet leaves; skipped on a kernel booted without IPv6.
 */
export function quietDevice(add: Add, subject: string, ns: string, dev: string, host?: string): void {
  add(subject, { op: 'sysctl.set', ns, key: `net/ipv6/conf/${dev}/disable_ipv6`, value: '1', ifPresent: true }, host);
}
