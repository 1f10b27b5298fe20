/** Recipe texts for tests: the seed-003 shape (two hosts, a switch each, a guest each, a tunnel). */
export function twoHostRecipe(lab: string, tunnel: string = 'type: vxlan\n    vni: 123'): string {
  return `lab: ${lab}
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24, "2001:db8:100::1/64"] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24, "2001:db8:100::2/64"] }
tunnels:
  - name: tun0
    between: [sw1, sw2]
    ${tunnel}
checks:
  - ping: { from: left, to: right }
`;
}
