/**
 * Kernel tier (VM): scenario actions that need kernel features this machine lacks.
 *
 *  1. `restart` on OVS's kernel datapath: vswitchd gets a new pid; the datapath (ovs-system) and the
 *     bridge's internal port survive with their ifindex, the geneve vport is there again; traffic
 *     resumes.
 *  2. `set` on a kernel geneve netdev (both backends): ttl/tos in place (same ifindex, the kernel's
 *     changelink), a new VNI refused in place by the kernel and therefore recreated (new ifindex,
 *     earlier settings kept, enslaved and up): the tunnel stops, and the old VNI brings it back.
 * Elsewhere every test is skipped LOUDLY (../faults/kernel.ts).
 */
import { kernelTest } from '../faults/kernel.js';
import { OVS, link, scenarioLab, sh, show } from '../../priv/scenario/support.js';

const long = (t: import('ava').ExecutionContext) => t.timeout(25 * 60_000); // CLI runs are slow under TCG

kernelTest('restart on the kernel datapath: new vswitchd, the datapath devices survive (same ifindex), traffic resumes', (t) => {
  long(t);
  const s = scenarioLab(t, 'vr');
  const file = s.write('restart.yaml', `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }], ovs: { datapath: system } }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }], ovs: { datapath: system } }
switches:
  - { name: sw1, host: box-1, kind: ovs }
  - { name: sw2, host: box-2, kind: ovs }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
tunnels:
  - { name: tun0, between: [sw1, sw2], type: geneve, vni: 77 }
checks:
  - { name: before, ping: { from: left, to: right, count: 2 } }
steps:
  - { name: restart-1, restart: { ovs: box-1 } }
  - { name: after, wait: { until: { ping: { from: left, to: right, count: 1, deadline: 2 } }, timeout: 60s, every: 1s } }
`);
  const up = s.g(['up', '--no-checks', file]);
  t.is(up.code, 0, up.stdout + up.stderr);
  const ns = s.ns('box-1');
  const devices = () => Object.fromEntries((JSON.parse(sh(['ip', '-n', ns, '-d', '-j', 'link', 'show'])) as any[]).filter((l) => ['ovs-system', 'sw1', 'genev_sys_6081'].includes(l.ifname)).map((l) => [l.ifname, l.ifindex]));
  const before = devices();
  t.deepEqual(Object.keys(before).sort(), ['genev_sys_6081', 'ovs-system', 'sw1'], JSON.stringify(before));
  const r = s.json('check', file);
  t.is(r.code, 0, `${r.out}\n${show(r.results)}`);
  const rs = r.byName['restart-1']!;
  t.not(rs.figures.new_pid, rs.figures.old_pid);
  // The datapath and the bridge's internal port survive; the geneve vport netdev is OVS's own and
  // the new vswitchd re-creates it when it re-adds its tunnel port (observed with OVS 3.1).
  const after = devices();
  t.is(after['ovs-system'], before['ovs-system'], 'the kernel datapath survived the restart');
  t.is(after.sw1, before.sw1, 'the bridge\'s internal port survived the restart');
  t.truthy(after.genev_sys_6081, 'the tunnel vport is there again');
  t.log(`genev_sys_6081 ifindex ${before.genev_sys_6081} → ${after.genev_sys_6081}`);
  t.is(r.byName.after?.status, 'passed', show(r.results));
  t.is(s.g(['down', s.lab]).code, 0);
  t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
}, { features: ['geneve', 'ovs-kernel'], tools: OVS.tools });

kernelTest('set on a kernel geneve end (netlink and iproute2): ttl/tos in place; a new VNI recreates the device; the old VNI restores traffic', (t) => {
  long(t);
  for (const backend of ['netlink', 'iproute2'] as const) {
    const s = scenarioLab(t, backend === 'netlink' ? 'vn' : 'vi');
    const lab = (steps: string) => `lab: LAB
hosts:
  - { name: box-1, interfaces: [{ ipv4: 192.0.2.11/24 }] }
  - { name: box-2, interfaces: [{ ipv4: 192.0.2.12/24 }] }
switches:
  - { name: br1, host: box-1 }
  - { name: br2, host: box-2 }
guests:
  - { name: left, switch: br1, addresses: [203.0.113.1/24], mtu: 1400 }
  - { name: right, switch: br2, addresses: [203.0.113.2/24], mtu: 1400 }
tunnels:
  - { name: gnv0, between: [br1, br2], type: geneve, impl: kernel, vni: 77, ttl: 20 }
checks:
  - { name: base, ping: { from: left, to: right, count: 1 } }
steps:
${steps}`;
    const g = ['--backend', backend];
    const up = s.g([...g, 'up', '--no-checks', s.write('lab.yaml', lab('  - { name: nothing, sleep: 1ms }\n'))]);
    t.is(up.code, 0, up.stdout + up.stderr);
    const ns2 = s.ns('box-2');
    const before = link(ns2, 'gnv0');
    const r1 = s.json('check', s.write('ttl.yaml', lab('  - { name: ttl-9, set: { tunnel: gnv0, end: br2, ttl: 9, tos: 0x20 } }\n')), [], g);
    t.is(r1.code, 0, r1.out);
    const mid = link(ns2, 'gnv0');
    t.is(mid.ifindex, before.ifindex, 'ttl/tos changed in place');
    t.is(mid.linkinfo.info_data.ttl, 9);
    t.is(mid.linkinfo.info_data.tos, '0x20');
    // The kernel really refuses the VNI in place (why set recreates the device).
    const inPlace = (() => {
      try {
        sh(['ip', '-n', ns2, 'link', 'set', 'dev', 'gnv0', 'type', 'geneve', 'id', '78']);
        return 'changed';
      } catch (e) {
        return String((e as { stderr?: string }).stderr ?? e);
      }
    })();
    t.regex(inPlace, /not supported|Operation not supported/i);
    const r2 = s.json('check', s.write('vni.yaml', lab(`  - { name: vni-78, set: { tunnel: gnv0, end: br2, vni: 78 } }
  - { name: cut, ping: { from: left, to: right, count: 2, expect: unreachable } }
  - { name: vni-77, set: { tunnel: gnv0, end: br2, vni: 77 } }
  - { name: back, wait: { until: { ping: { from: left, to: right, count: 1, deadline: 2 } }, timeout: 30s } }
`)), [], g);
    t.is(r2.code, 0, `${r2.out}\n${show(r2.results)}`);
    const after = link(ns2, 'gnv0');
    t.not(after.ifindex, before.ifindex, 'recreated');
    t.is(after.linkinfo.info_data.id, 77);
    t.is(after.linkinfo.info_data.ttl, 9, 'the earlier ttl kept');
    t.is(after.master, 'br2');
    t.is(s.g(['down', s.lab]).code, 0);
    t.deepEqual(s.leftovers(), { namespaces: [], processes: [] });
  }
}, { features: ['geneve'], tools: ['ping'] });
