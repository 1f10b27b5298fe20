/** Recipe port names in OpenFlow text (lib/ovs/port-names.ts) and hex frames (lib/scenario/hex.ts). */
import test from 'ava';
import { flowPortRefs, resolveArgs, resolveFlowPorts, resolvePortName, switchPorts, type SwitchPorts } from '../../../lib/ovs/port-names.js';
import { hexBytes, hexProblem, normalizeHex } from '../../../lib/scenario/hex.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const ports: SwitchPorts = { switch: 'sw1', bridge: 'br-sw1', ports: new Map([['sw1', 'br-sw1'], ['left', 'lab-left'], ['tun0', 'lab-tun0']]) };

test('flowPortRefs: every place ovs-ofctl expects a port, in match and actions', (t) => {
  const flow = 'table=0,priority=5,in_port=left,ip,actions=output:tun0,enqueue:left:3,resubmit(tun0,2),output(port=left,max_len=100),resubmit:left,tun0,drop';
  t.deepEqual(
    flowPortRefs(flow).map((r) => [r.name, flow.slice(r.start, r.end), r.bare ?? false]),
    [
      ['left', 'left', false],
      ['tun0', 'tun0', false],
      ['left', 'left', false],
      ['tun0', 'tun0', false],
      ['left', 'left', false],
      ['left', 'left', false],
      ['tun0', 'tun0', true],
      ['drop', 'drop', true],
    ],
  );
  t.deepEqual(flowPortRefs('out_port=left'), [{ name: 'left', start: 9, end: 13 }]);
  t.deepEqual(flowPortRefs('ip,nw_dst=10.0.0.1'), [], 'no port in a match without in_port');
});

test('resolveFlowPorts: recipe names → real names; numbers, reserved ports, field refs and action words pass; unknown names listed', (t) => {
  t.deepEqual(resolveFlowPorts('in_port=left,actions=output:tun0', ports), { text: 'in_port=lab-left,actions=output:lab-tun0', unknown: [] });
  t.deepEqual(resolveFlowPorts('in_port=LOCAL,actions=normal', ports), { text: 'in_port=LOCAL,actions=normal', unknown: [] });
  t.deepEqual(resolveFlowPorts('in_port=3,actions=output:NXM_NX_REG0[0..15]', ports), { text: 'in_port=3,actions=output:NXM_NX_REG0[0..15]', unknown: [] });
  t.deepEqual(resolveFlowPorts('in_port=lab-left,actions=left,sw1', ports), { text: 'in_port=lab-left,actions=lab-left,br-sw1', unknown: [] });
  t.deepEqual(resolveFlowPorts('in_port=lefft,actions=output:tun1,output:tun1', ports), { text: 'in_port=lefft,actions=output:tun1,output:tun1', unknown: ['lefft', 'tun1'] });
  t.deepEqual(resolveFlowPorts('actions=set_field:0x1->tun_metadata0,output:tun0', ports).text, 'actions=set_field:0x1->tun_metadata0,output:lab-tun0');
  t.is(resolvePortName('in_port', ports), 'in_port', 'reserved names in any case');
  t.is(resolvePortName('0xfffe', ports), '0xfffe');
  t.is(resolvePortName('tun0', ports), 'lab-tun0');
  t.is(resolvePortName('eth7', ports), undefined);
});

test('resolveArgs: whole words and flow words of vsctl/appctl arguments', (t) => {
  t.deepEqual(resolveArgs(['set', 'Interface', 'tun0', 'options:key=6'], ports), { args: ['set', 'Interface', 'lab-tun0', 'options:key=6'], unknown: [] });
  t.deepEqual(resolveArgs(['ofproto/trace', 'sw1', 'in_port=left,icmp'], ports), { args: ['ofproto/trace', 'br-sw1', 'in_port=lab-left,icmp'], unknown: [] });
});

test('switchPorts: guests and tunnel ends on the switch, and the switch itself, from the model (SSH names included)', (t) => {
  const { lab } = loadRecipeText(`lab: pn
hosts:
  - { name: box-1, ssh: root@192.0.2.11, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, ssh: root@192.0.2.12, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2] }
checks:
  - ping: { from: left, to: right }
`, 'pn.yaml');
  const p = switchPorts(lab, 'sw1');
  t.is(p.bridge, 'pn-sw1');
  t.deepEqual([...p.ports], [['sw1', 'pn-sw1'], ['left', 'pn-left'], ['tun0', 'pn-tun0']]);
});

test('hex: spaces and newlines are separators; anything else, an odd count or nothing is a problem with its position', (t) => {
  t.is(hexProblem('ff ff\n\tff ff'), undefined);
  t.is(normalizeHex(' FF 00\n0a '), 'ff000a');
  t.deepEqual([...hexBytes('01 02')], [1, 2]);
  t.like(hexProblem('ff fg'), { offset: 4 });
  t.regex(hexProblem('ff fg')!.message, /"g" at character 5/);
  t.regex(hexProblem('0xff')!.message, /without 0x prefixes/);
  t.regex(hexProblem('ff:ff')!.message, /separate bytes with spaces only/);
  t.regex(hexProblem('fff')!.message, /3 hex digits, an odd number/);
  t.regex(hexProblem('   ')!.message, /is empty/);
  t.regex(hexProblem('ab"cd', 'packet')!.message, /^packet has the quote "/);
});
