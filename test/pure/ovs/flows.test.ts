/**
 * The offline part of ovs-ofctl's flow grammar (lib/ovs/flows.ts): port words found and
 * translated to the lab's real names, tables and tun_metadata checked, error offsets exact;
 * and the switch's port names (lib/ovs/port-names.ts).
 */
import test from 'ava';
import { checkFlow, explainProgramFailure, failedInputLine, programInput, programPortNames, refusedLine, tlvMapArg } from '../../../lib/ovs/index.js';
import { loadRecipeText } from '../../../lib/recipe/load.js';

const ports = { subject: 'switch "sw1"', names: new Map([['left', 'left-p'], ['left-p', 'left-p'], ['tun0', 'tun0'], ['sw1', 'sw1']]) };

test('port words: in_port, output:, bare port, output(port=), enqueue, resubmit — recipe names become real names', (t) => {
  const c = checkFlow('table=0,in_port=left,actions=output:tun0', ports);
  t.deepEqual(c.problems, []);
  t.is(c.text, 'table=0,in_port=left-p,actions=output:tun0');
  t.is(checkFlow('in_port=tun0 actions=left', ports).text, 'in_port=tun0 actions=left-p', 'a bare port name is an output action');
  t.is(checkFlow('in_port=tun0,actions=output(port=left,max_len=128),enqueue:left:1,resubmit(left,3)', ports).text, 'in_port=tun0,actions=output(port=left-p,max_len=128),enqueue:left-p:1,resubmit(left-p,3)');
  t.is(checkFlow('in_port=tun0,actions=clone(output:left),resubmit:left', ports).text, 'in_port=tun0,actions=clone(output:left-p),resubmit:left-p');
  t.is(checkFlow('in_port="left",actions=drop', ports).text, 'in_port="left-p",actions=drop');
});

test('reserved ports, numbers, field outputs and other actions are left alone', (t) => {
  for (const f of [
    'in_port=LOCAL,actions=NORMAL',
    'in_port=1,actions=output:2,in_port,IN_PORT,flood,drop',
    'actions=output:NXM_NX_REG0[0..15]',
    'tun_id=5,actions=set_field:192.0.2.1->tun_dst,load:1->NXM_NX_REG0[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],ct(commit,table=2),controller(max_len=64)',
    'ip,nw_src=192.0.2.0/24,actions=mod_nw_dst:192.0.2.9,dec_ttl,strip_vlan,normal',
    'in_port=sw1,actions=local',
  ]) {
    const c = checkFlow(f, ports);
    t.deepEqual(c.problems, [], f);
    t.is(c.text, f);
  }
});

test('an unknown port names the switch, its ports and where it is', (t) => {
  const flow = 'table=0,in_port=lefty,actions=output:tun9';
  const c = checkFlow(flow, ports);
  t.deepEqual(c.problems.map((p) => p.offset), [flow.indexOf('lefty'), flow.indexOf('tun9')]);
  t.regex(c.problems[0]!.message, /^in_port: port "lefty" does not exist on switch "sw1"; its ports: left, left-p, sw1, tun0/);
  t.regex(c.problems[1]!.message, /^output: port "tun9"/);
  t.regex(checkFlow('actions=normall', ports).problems[0]!.message, /action "normall" is neither an action .* nor a port of switch "sw1"/);
});

test('tables: 0..254 in table=, goto_table, resubmit and learn; resubmit(,255) means this table', (t) => {
  t.deepEqual(checkFlow('table=254,actions=goto_table:1,resubmit(,255),learn(table=3,output:NXM_OF_IN_PORT[])', ports).problems, []);
  const flow = 'table=255,actions=goto_table:300,resubmit(,256),learn(table=999)';
  const c = checkFlow(flow, ports);
  t.deepEqual(c.problems.map((p) => [p.offset, /table (\d+) is out of range/.exec(p.message)?.[1]]), [
    [flow.indexOf('255'), '255'],
    [flow.indexOf('300'), '300'],
    [flow.indexOf('256'), '256'],
    [flow.indexOf('999'), '999'],
  ]);
  t.regex(checkFlow('table=x,actions=drop', ports).problems[0]!.message, /"x" is not a table number/);
});

test('a flow needs actions=; tun_metadata fields are collected and 64+ refused', (t) => {
  t.regex(checkFlow('table=0,in_port=left', ports).problems[0]!.message, /has no "actions=" part/);
  const c = checkFlow('tun_metadata2=0x1,actions=set_field:0->tun_metadata5,output:left', ports);
  t.deepEqual(c.metadata, [2, 5]);
  t.regex(checkFlow('actions=set_field:1->tun_metadata64', ports).problems[0]!.message, /tun_metadata64 does not exist/);
});

test('groups: bucket actions and watch_port are port words', (t) => {
  const c = checkFlow('group_id=1,type=all,bucket=output:left,bucket=watch_port:tun0,output:tun0', ports, 'group');
  t.deepEqual(c.problems, []);
  t.is(c.text, 'group_id=1,type=all,bucket=output:left-p,bucket=watch_port:tun0,output:tun0');
  t.is(checkFlow('group_id=2,type=select,bucket=bucket_id:1,actions=left', ports, 'group').text, 'group_id=2,type=select,bucket=bucket_id:1,actions=left-p');
  t.regex(checkFlow('group_id=1,type=all,bucket=output:nope', ports, 'group').problems[0]!.message, /port "nope" does not exist/);
});

test('program input, TLV map argument, and which line ovs-ofctl refused', (t) => {
  t.is(programInput([{ text: 'a' }, { text: 'b' }]), 'a\nb\n');
  t.is(tlvMapArg([{ class: 0xffff, type: 0x80, len: 4, field: 0 }, { class: 0x102, type: 1, len: 0, field: 7 }]), '{class=0xffff,type=0x80,len=4}->tun_metadata0,{class=0x102,type=0x1,len=0}->tun_metadata7');
  t.is(failedInputLine('ovs-ofctl: -:2: unknown keyword nw_srcc\n'), 2);
  t.is(failedInputLine('OFPT_ERROR (xid=0xc): NXFMFC_INVALID_TLV_FIELD'), undefined);
  const lines = [{ text: 'table=0,priority=1,actions=drop' }, { text: 'table=0,priority=2,tun_metadata5=1,actions=drop' }, { text: 'table=0,priority=3,actions=drop' }];
  t.is(refusedLine('OFPT_ERROR (xid=0xc): NXFMFC_INVALID_TLV_FIELD\nNXT_FLOW_MOD (xid=0xc): ADD priority=2,tun_metadata5=0x1 actions=drop\n', lines), 2);
  t.regex(explainProgramFailure('ovs-ofctl: -:2: unknown keyword nw_srcc', 'a\nb\n', ['r.yaml:3:9', 'r.yaml:4:9'])!, /^line 2 of the program, written at r\.yaml:4:9: b$/);
  t.regex(explainProgramFailure('OFPT_ERROR (xid=0xc): X\nNXT_FLOW_MOD (xid=0xc): ADD priority=2,tun_metadata5=0x1 actions=drop', lines.map((l) => l.text).join('\n') + '\n', ['a:1:1', 'a:2:1', 'a:3:1'])!, /^probably line 2 of the program, written at a:2:1/);
});

test('port names for a switch program: recipe names, real names, and shared tunnel ports', (t) => {
  const { lab } = loadRecipeText(
    `lab: t
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: sw1, host: box-1, kind: ovs, flows: ["actions=drop"] }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: a-guest-with-a-long-name, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], ends: { sw1: { port: gnv, remote: flow, key: flow } } }
`,
    'x.yaml',
  );
  const m = programPortNames(lab, 'sw1');
  const real = lab.guests[0]!.peerIfname;
  t.not(real, 'a-guest-with-a-long-name', 'the name was shortened');
  t.is(m.get('a-guest-with-a-long-name'), real);
  t.is(m.get(real), real);
  t.is(m.get('tun0'), 'gnv', 'a tunnel name is its (shared) port');
  t.is(m.get('gnv'), 'gnv');
  t.is(m.get('sw1'), 'sw1');
  t.is(m.get('right'), undefined, 'a guest of another switch is not a port of this one');
  t.deepEqual([...programPortNames(lab, 'nope')], []);
});
