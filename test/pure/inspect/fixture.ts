/** The lab the inspect tests share: two hosts, an OVS switch on h1 and a Linux bridge on h2, a guest on each, one tunnel. */
import { loadRecipeText } from '../../../lib/recipe/load.js';
import type { Lab } from '../../../lib/model/types.js';

export function twoSwitchLab(name: string, tunnel: string, o: { secondGuest?: boolean } = {}): Lab {
  return loadRecipeText(
    `lab: ${name}
hosts:
  - name: h1
    interfaces: [{ ipv4: 192.0.2.1/24 }]
  - name: h2
    interfaces: [{ ipv4: 192.0.2.2/24 }]
switches:
  - { name: ovs1, host: h1, kind: ovs }
  - { name: br2, host: h2 }
guests:
  - { name: g1, switch: ovs1, addresses: [203.0.113.1/24] }
${o.secondGuest === false ? '' : '  - { name: g2, switch: br2, addresses: [203.0.113.2/24] }\n'}tunnels:
  - { name: t1, between: [ovs1, br2], ${tunnel} }
`,
    'lab.yaml',
  ).lab;
}
