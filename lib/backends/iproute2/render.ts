/**
 * Op → iproute2 commands. Pure, so the exact argv is unit-tested and `plan --format sh` prints
 * precisely what `up` runs.
 */
import { linkChangeArgs, type LinkSpec, type Op } from '../../plan/ops.js';
import { nftArgv } from '../../plan/nft.js';
import type { GeneveParams, VxlanParams } from '../../model/types.js';
import { shellQuote } from '../../exec/executor.js';
import { ovsOpArgv } from '../../ovs/render.js';
import { ovnOpArgv } from '../../ovn/commands.js';
import { netemArgv } from '../../checks/impair.js';
import { tunnelTcArgs } from '../../tc/tunnel-key.js';
import { ethtoolKArgv, ethtoolKRefusal, nftRulesArgv } from '../tools.js';
import type { RunResult } from '../../exec/executor.js';
import { ipsecOpArgv } from '../../ipsec/render.js';

/** An `ip` invocation (args after `ip [-n NS]`) or another program run inside a namespace. */
export type Command =
  | { tool: 'ip'; ns: string; args: string[] }
  /**
   * `input`: fed on stdin. `verify`: a program whose exit code is not the whole answer (ethtool -K)
   * says what went wrong, or undefined.
   */
  | { tool: 'exec'; ns: string; argv: string[]; input?: string; verify?: (r: RunResult) => string | undefined };

export class UnsupportedByIproute2 extends Error {}

const hex = (n: number) => '0x' + n.toString(16);

function ttlArg(ttl: GeneveParams['ttl']): string[] {
  if (ttl === undefined) return [];
  return ['ttl', ttl === 'inherit' ? 'inherit' : ttl === 'auto' ? 'auto' : String(ttl)];
}
function tosArg(tos: GeneveParams['tos']): string[] {
  if (tos === undefined) return [];
  return ['tos', tos === 'inherit' ? 'inherit' : hex(tos)];
}
const flag = (v: boolean | undefined, name: string) => (v === undefined ? [] : [v ? name : 'no' + name]);

function geneveArgs(p: GeneveParams & { remote?: string }): string[] {
  if (p.srcport) throw new UnsupportedByIproute2('geneve srcport (IFLA_GENEVE_PORT_RANGE) has no iproute2 keyword; use --backend netlink');
  const a: string[] = [];
  if (p.external) a.push('external');
  else a.push('id', String(p.vni ?? 0));
  if (p.remote) a.push('remote', p.remote);
  a.push(...ttlArg(p.ttl), ...tosArg(p.tos));
  if (p.df) a.push('df', p.df);
  if (p.flowlabel !== undefined) a.push('flowlabel', hex(p.flowlabel));
  if (p.dstport !== undefined) a.push('dstport', String(p.dstport));
  a.push(...flag(p.udpcsum, 'udpcsum'), ...flag(p.udp6zerocsumtx, 'udp6zerocsumtx'), ...flag(p.udp6zerocsumrx, 'udp6zerocsumrx'));
  if (p.innerprotoinherit) a.push('innerprotoinherit');
  return a;
}

function vxlanArgs(p: VxlanParams & { remote?: string; local?: string }): string[] {
  const a: string[] = [];
  if (p.external) a.push('external');
  else a.push('id', String(p.vni ?? 0));
  if (p.remote) a.push('remote', p.remote);
  if (p.local) a.push('local', p.local);
  // Always explicit: without it iproute2 falls back to the kernel's legacy port 8472.
  a.push('dstport', String(p.dstport ?? 4789));
  a.push(...ttlArg(p.ttl), ...tosArg(p.tos));
  if (p.df) a.push('df', p.df);
  if (p.flowlabel !== undefined) a.push('flowlabel', hex(p.flowlabel));
  a.push(...flag(p.udpcsum, 'udpcsum'), ...flag(p.udp6zerocsumtx, 'udp6zerocsumtx'), ...flag(p.udp6zerocsumrx, 'udp6zerocsumrx'));
  if (p.learning !== undefined) a.push(p.learning ? 'learning' : 'nolearning');
  if (p.srcport) a.push('srcport', String(p.srcport.low), String(p.srcport.high));
  return a;
}

function linkAddArgs(l: LinkSpec): string[] {
  const head = ['link', 'add', l.name];
  if (l.mtu) head.push('mtu', String(l.mtu));
  if (l.mac) head.push('address', l.mac);
  switch (l.kind) {
    case 'veth': {
      const peer = ['name', l.peer.name, 'netns', l.peer.ns];
      if (l.peer.mtu) peer.push('mtu', String(l.peer.mtu));
      if (l.peer.mac) peer.push('address', l.peer.mac);
      return [...head, 'type', 'veth', 'peer', ...peer];
    }
    case 'bridge':
    case 'dummy':
      return [...head, 'type', l.kind];
    case 'geneve':
      return [...head, 'type', 'geneve', ...geneveArgs(l.geneve)];
    case 'vxlan':
      return [...head, 'type', 'vxlan', ...vxlanArgs(l.vxlan)];
    case 'gre':
    case 'gretap': {
      const g = l.gre;
      const a = [...head, 'type', l.kind, 'remote', g.remote, 'local', g.local];
      if (g.key !== undefined) a.push('key', String(g.key));
      a.push(...ttlArg(g.ttl), ...tosArg(g.tos));
      if (g.csum !== undefined) a.push(g.csum ? 'csum' : 'nocsum');
      return a;
    }
  }
}

const v6 = (s?: string) => Boolean(s && s.includes(':'));

export function renderOp(op: Op): Command[] {
  switch (op.op) {
    case 'netns.add':
      return [
        { tool: 'ip', ns: '', args: ['netns', 'add', op.ns] },
        { tool: 'ip', ns: op.ns, args: ['link', 'set', 'lo', 'up'] },
        // The tag on lo is how gc recognises our namespaces (a namespace has no other label).
        { tool: 'ip', ns: op.ns, args: ['link', 'set', 'lo', 'alias', op.tag] },
      ];
    case 'netns.del':
      return [{ tool: 'ip', ns: '', args: ['netns', 'del', op.ns] }];
    case 'link.add': {
      const cmds: Command[] = [{ tool: 'ip', ns: op.ns, args: linkAddArgs(op.link) }];
      if (op.link.alias) cmds.push({ tool: 'ip', ns: op.ns, args: ['link', 'set', op.link.name, 'alias', op.link.alias] });
      if (op.link.kind === 'veth' && op.link.peer.alias)
        cmds.push({ tool: 'ip', ns: op.link.peer.ns, args: ['link', 'set', op.link.peer.name, 'alias', op.link.peer.alias] });
      return cmds;
    }
    case 'link.del':
      return [{ tool: 'ip', ns: op.ns, args: ['link', 'del', op.name] }];
    case 'link.set': {
      const a = ['link', 'set', 'dev', op.name];
      if (op.mtu) a.push('mtu', String(op.mtu));
      if (op.gsoMaxSize !== undefined) a.push('gso_max_size', String(op.gsoMaxSize));
      if (op.groMaxSize !== undefined) a.push('gro_max_size', String(op.groMaxSize));
      if (op.master === null) a.push('nomaster');
      else if (op.master) a.push('master', op.master);
      if (op.alias) a.push('alias', op.alias);
      if (op.up !== undefined) a.push(op.up ? 'up' : 'down');
      return [{ tool: 'ip', ns: op.ns, args: a }];
    }
    case 'link.change':
      return [{ tool: 'ip', ns: op.ns, args: linkChangeArgs(op) }];
    case 'addr.add':
      return [{ tool: 'ip', ns: op.ns, args: ['addr', 'add', op.address, 'dev', op.dev, ...(op.nodad && v6(op.address) ? ['nodad'] : [])] }];
    case 'addr.del':
      return [{ tool: 'ip', ns: op.ns, args: ['addr', 'del', op.address, 'dev', op.dev] }];
    case 'route.add':
    case 'route.del': {
      // No `-6` flag: ip's batch mode rejects global options per line. The family follows
      // from the prefix or the gateway; an IPv6 default route is spelled ::/0.
      const to = op.to === 'default' && v6(op.via) ? '::/0' : op.to;
      const a = ['route', op.op === 'route.add' ? 'add' : 'del', to];
      if (op.via) a.push('via', op.via);
      if (op.dev) a.push('dev', op.dev);
      return [{ tool: 'ip', ns: op.ns, args: a }];
    }
    case 'sysctl.set':
      // -e (ignore unknown keys) for ifPresent: sysctl cannot tell a missing subsystem from a missing key.
      return [{ tool: 'exec', ns: op.ns, argv: ['sysctl', '-q', ...(op.ifPresent ? ['-e'] : []), '-w', `${op.key}=${op.value}`] }];
    case 'qdisc.netem':
      // `tc qdisc replace`: idempotent, and the same argv the check step uses.
      return [{ tool: 'exec', ns: op.ns, argv: netemArgv(op.dev, op.impairment) }];
    case 'offload.set':
      return [{ tool: 'exec', ns: op.ns, argv: ethtoolKArgv(op.dev, op.features), verify: (r) => ethtoolKRefusal(r.stdout, r.stderr, r.exitCode, op.features) }];
    case 'nft.rules':
      return nftRulesArgv(op).map((argv) => ({ tool: 'exec', ns: op.ns, argv }));
    case 'tc.tunnel':
      // tc, not `ip`: its own processes (never part of an `ip -batch`).
      return tunnelTcArgs(op.dev, op.egress, op.ingress).map((args) => ({ tool: 'exec', ns: op.ns, argv: ['tc', ...args] }));
    case 'nft.counters':
    case 'nft.delete':
      return nftArgv(op).map((argv) => ({ tool: 'exec', ns: op.ns, argv }));
    case 'ovs.start':
    case 'ovs.stop':
    case 'ovs.cmds':
    case 'ovs.tunnel':
      // Shown in plans; executed by the OVS runner (readiness waits, Interface.error read-back).
      return ovsOpArgv(op).map((c) => ({ tool: 'exec', ns: c.ns ?? '', argv: c.argv, ...(c.input !== undefined ? { input: c.input } : {}) }));
    case 'ovn.central.start':
    case 'ovn.central.stop':
    case 'ovn.controller.start':
    case 'ovn.controller.stop':
    case 'ovn.nbctl':
    case 'ovn.ready':
      // Shown in plans; executed by the OVN runner (readiness polls the SB, lib/ovn/runner.ts).
      return ovnOpArgv(op).map((c) => ({ tool: 'exec', ns: c.ns, argv: c.argv }));
    case 'ipsec.start':
    case 'ipsec.stop':
    case 'ipsec.conns':
    case 'ipsec.psk':
    case 'ipsec.monitor':
    case 'ipsec.await':
    case 'xfrm.add':
    case 'xfrm.del':
      // Shown in plans (secrets <redacted>); executed by the IPsec runner (lib/ipsec/runner.ts).
      return ipsecOpArgv(op).map((c) => ({ tool: 'exec', ns: c.ns ?? '', argv: c.argv }));
  }
}

/** The argv that runs a command (one process). */
export function commandArgv(c: Command): string[] {
  if (c.tool === 'ip') return c.ns ? ['ip', '-n', c.ns, ...c.args] : ['ip', ...c.args];
  return c.ns ? ['ip', 'netns', 'exec', c.ns, ...c.argv] : [...c.argv];
}

/**
 * One line of an `ip -batch` file, or undefined when an argument could not survive ip's
 * batch tokenizer unchanged (it splits on blanks and treats quotes and # specially); such
 * commands run as their own process instead.
 */
export function batchLine(args: string[]): string | undefined {
  return args.every((a) => /^[^\s"'#\\]+$/.test(a)) ? args.join(' ') : undefined;
}

/** The whole plan as a runnable shell script (for `plan --format sh`). */
export function renderShell(ops: { subject: string; op: Op }[]): string {
  const out = ['#!/bin/sh', '# generated by geneve-lab plan --format sh', 'set -e'];
  let last = '';
  for (const { subject, op } of ops) {
    if (subject !== last) out.push('', `# ${subject}`);
    last = subject;
    for (const c of renderOp(op)) out.push(shellQuote(commandArgv(c)) + (c.tool === 'exec' && c.input !== undefined ? hereDoc(c.input) : ''));
  }
  return out.join('\n') + '\n';
}

/** ` <<'EOF'` + the text + the terminator, with a terminator the text does not contain. */
function hereDoc(text: string): string {
  let end = 'EOF';
  for (let i = 2; text.split('\n').includes(end); i++) end = `EOF${i}`;
  return ` <<'${end}'\n${text.endsWith('\n') ? text : text + '\n'}${end}`;
}
