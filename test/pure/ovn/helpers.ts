/** A small OVN recipe: central + h1/h2 (+ h3), an OVS switch and a guest on each of h1/h2. */
export function ovnRecipe(ovnSection: string, o: { central?: boolean; macs?: boolean; extraHost?: boolean; check?: string; noOvn?: boolean } = {}): string {
  const mac = (n: number) => (o.macs === false ? '' : `, mac: "02:00:00:00:00:0${n}"`);
  return `lab: o
hosts:
  - name: central
    interfaces: [{ ipv4: 192.0.2.10/24 }]
  - name: h1
    interfaces: [{ ipv4: 192.0.2.11/24 }]
  - name: h2
    interfaces: [{ ipv4: 192.0.2.12/24 }]
${o.extraHost ? '  - name: h3\n    interfaces: [{ ipv4: 192.0.2.13/24 }]\n' : ''}switches:
  - { name: sw1, host: h1, kind: ovs }
  - { name: sw2, host: h2, kind: ovs }
guests:
  - { name: vm1, switch: sw1, addresses: [198.51.100.11/24]${mac(1)} }
  - { name: vm2, switch: sw2, addresses: [198.51.100.12/24]${mac(2)} }
checks:
  - { name: p, ping: { from: vm1, to: vm2 } }
${o.check ?? ''}
${o.noOvn ? '' : `ovn:${o.central === false ? '' : '\n  central: central'}${ovnSection}`}
`;
}
