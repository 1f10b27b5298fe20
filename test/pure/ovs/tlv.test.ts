import test from 'ava';
import { addTlvMapArgs, optionFlows, optionLayout, optionsOverhead, ovnEncap, ovnOption, OvsSpecError, validateTlvs } from '../../../lib/ovs/index.js';

test('OVN option: class 0x0102, type 0x80, data = ingress<<16 | egress', (t) => {
  t.deepEqual(ovnOption(1, 2), { class: 0x0102, type: 0x80, data: '00010002' });
  t.deepEqual(ovnOption(0x7fff, 0xffff).data, '7fffffff');
  t.deepEqual(ovnEncap({ datapathKey: 5, ingress: 1, egress: 2 }), { vni: 5, options: [{ class: 0x102, type: 0x80, data: '00010002' }] });
  t.throws(() => ovnOption(0x8000, 1), { message: /ingress: 32768 is not a logical port key 1\.\.32767/ });
  t.throws(() => ovnOption(1, 0), { message: /egress: 0/ });
  t.throws(() => ovnEncap({ datapathKey: 1 << 24, ingress: 1, egress: 1 }), { message: /datapathKey/ });
});

test('add-tlv-map argv binds options to consecutive tun_metadata fields', (t) => {
  t.deepEqual(addTlvMapArgs('br-int', [ovnOption(1, 2), { class: 0xffff, type: 1, data: '0000000a00000000' }], 2), [
    'add-tlv-map', 'br-int', '{class=0x102,type=0x80,len=4}->tun_metadata2,{class=0xffff,type=0x1,len=8}->tun_metadata3',
  ]);
});

test('option flows: set on egress, match on ingress, drop the rest', (t) => {
  const flows = optionFlows({
    bridge: 'br-int', localPort: 20, tunnelPort: 10, send: [ovnOption(1, 2)], accept: [ovnOption(2, 1)], vni: 1, cookie: 0x6c,
  });
  t.deepEqual(flows, [
    'cookie=0x6c,table=0,priority=100,in_port=20,actions=set_field:0x00010002->tun_metadata0,set_field:1->tun_id,output:10',
    'cookie=0x6c,table=0,priority=100,in_port=10,tun_id=1,tun_metadata0=0x00020001,actions=output:20',
    'cookie=0x6c,table=0,priority=99,in_port=10,actions=drop',
  ]);
  t.deepEqual(optionFlows({ bridge: 'b', localPort: 'vg', tunnelPort: 'tun0', send: [ovnOption(1, 2)] }), [
    'table=0,priority=100,in_port=vg,actions=set_field:0x00010002->tun_metadata0,output:tun0',
    'table=0,priority=100,in_port=tun0,actions=output:vg',
  ]);
});

test('option flows: each direction may carry its own options (one tun_metadata field per distinct option)', (t) => {
  const a = { class: 0xffff, type: 1, data: '0000000a' };
  const b = { class: 0xffff, type: 2, data: '' };
  t.deepEqual(optionLayout('x', [a], [b]), [a, b]);
  t.deepEqual(optionFlows({ bridge: 'b', localPort: 'vg', tunnelPort: 'tun0', send: [a], accept: [b], firstMetadata: 3 }), [
    'table=0,priority=100,in_port=vg,actions=set_field:0x0000000a->tun_metadata3,output:tun0',
    'table=0,priority=100,in_port=tun0,tun_metadata4,actions=output:vg',
    'table=0,priority=99,in_port=tun0,actions=drop',
  ]);
  t.deepEqual(optionFlows({ bridge: 'b', localPort: 'vg', tunnelPort: 'tun0', send: [b], accept: [] }), [
    'table=0,priority=100,in_port=vg,actions=set_field:0->tun_metadata0,output:tun0',
    'table=0,priority=100,in_port=tun0,actions=output:vg',
    'table=0,priority=99,in_port=tun0,actions=drop',
  ]);
  t.deepEqual(addTlvMapArgs('br', optionLayout('x', [b]), 0), ['add-tlv-map', 'br', '{class=0xffff,type=0x2,len=0}->tun_metadata0']);
});

test('option validation names the field', (t) => {
  t.throws(() => validateTlvs('x', [{ class: 1, type: 1, data: 'abc' }]), { instanceOf: OvsSpecError, message: /options\[0\]\.data: "abc" is not hex bytes/ });
  t.throws(() => validateTlvs('x', [{ class: 1, type: 1, data: '0011' }]), { message: /2 bytes; an option body must be 0\.\.124 bytes/ });
  t.notThrows(() => validateTlvs('x', [{ class: 1, type: 1, data: '' }]), 'RFC 8926 allows an option without data');
  t.throws(() => validateTlvs('x', [{ class: 0x10000, type: 1, data: '00000000' }]), { message: /options\[0\]\.class/ });
  t.throws(() => validateTlvs('x', [{ class: 1, type: 1, data: '00'.repeat(124) }, { class: 1, type: 2, data: '00'.repeat(124) }, { class: 1, type: 3, data: '00000000' }]), {
    message: /at most 252/,
  });
  t.throws(() => optionFlows({ bridge: 'b', localPort: 1, tunnelPort: 2, send: [{ class: 1, type: 1, data: '0000000000000000' }], accept: [{ class: 1, type: 1, data: '00000000' }] }), {
    message: /class 0x1 type 0x1 is used with 8 and 4 bytes/,
  });
  t.is(optionsOverhead([ovnOption(1, 2)]), 8);
});
