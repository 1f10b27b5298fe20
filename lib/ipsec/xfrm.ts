/**
 * The kernel's IPsec state through `ip xfrm`: the lines that install and remove the lab's static
 * SAs and policies (fed to `ip -batch -` on stdin, so keys never appear in an argv), and a parser of
 * `ip xfrm state` that turns the kernel's SAs — the lab's static ones or what IKE negotiated — into
 * what the capture decoder needs to decrypt ESP (lib/wire/esp.ts) and `up` needs to see an SA.
 */
import { espAlgorithm } from './algorithms.js';
import { sameIp } from '../wire/addr.js';
import type { EspSa } from '../wire/esp.js';
import type { XfrmPolicyId, XfrmPolicySpec, XfrmSelector, XfrmStateId, XfrmStateSpec } from './ops.js';

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const host = (a: string) => `${a}/${a.includes(':') ? 128 : 32}`;

function selectorWords(s: XfrmSelector): string[] {
  return ['src', host(s.src), 'dst', host(s.dst), 'proto', s.proto, ...(s.proto === 'udp' && s.dport !== undefined ? ['dport', String(s.dport)] : [])];
}

/** `xfrm state add …` (one `ip -batch` line). Reveals the keys: only ever written to ip's stdin. */
export function stateAddLine(s: XfrmStateSpec): string {
  const alg = espAlgorithm(s.esp);
  const w = ['xfrm', 'state', 'add', 'src', s.src, 'dst', s.dst, 'proto', 'esp', 'spi', hex(s.spi), 'reqid', String(s.reqid), 'mode', 'transport'];
  if (s.inbound) w.push('replay-window', '32');
  if (alg.aead) w.push('aead', alg.aead.kernel, `0x${s.key.reveal()}`, String(alg.aead.icvBits));
  else {
    w.push('enc', alg.enc!.kernel, `0x${s.key.reveal()}`);
    if (!s.authKey) throw new Error(`internal: ${s.esp} needs an authentication key`);
    w.push('auth-trunc', alg.auth!.kernel, `0x${s.authKey.reveal()}`, String(alg.auth!.icvBits));
  }
  return w.join(' ');
}

export function policyAddLine(p: XfrmPolicySpec): string {
  const { src, dst } = p.sel;
  return ['xfrm', 'policy', 'add', ...selectorWords(p.sel), 'dir', p.dir, 'tmpl', 'src', src, 'dst', dst, 'proto', 'esp', 'reqid', String(p.reqid), 'mode', 'transport'].join(' ');
}

export function stateDeleteLine(s: XfrmStateId): string {
  return ['xfrm', 'state', 'delete', 'src', s.src, 'dst', s.dst, 'proto', 'esp', 'spi', hex(s.spi)].join(' ');
}

export function policyDeleteLine(p: XfrmPolicyId): string {
  return ['xfrm', 'policy', 'delete', ...selectorWords(p.sel), 'dir', p.dir].join(' ');
}

/** The same as argv (for `plan --format sh`), keys shown as <redacted>. */
export function redactedArgv(line: string): string[] {
  return line.split(' ').map((w, i, all) => (/^0x[0-9a-f]{16,}$/i.test(w) && ['aead', 'enc', 'auth-trunc'].includes(all[i - 2] ?? '') ? '<redacted>' : w));
}

/** One SA as the kernel reports it. */
export interface KernelSa {
  src: string;
  dst: string;
  proto: string;
  spi: number;
  reqid?: number;
  mode?: string;
  /** AEAD: kernel name, key bytes (key + salt), ICV bits. */
  aead?: { name: string; key: Buffer; icvBits: number };
  enc?: { name: string; key: Buffer };
  auth?: { name: string; key: Buffer; truncBits: number };
  /** The traffic selector, when the SA has one (`sel src … dst … proto …`). */
  sel?: { src: string; dst: string; proto?: string; sport?: number; dport?: number };
  /** `ip -s`: packets the SA processed. */
  packets?: number;
}

const keyOf = (h: string) => Buffer.from(h.replace(/^0x/i, ''), 'hex');

/**
 * Parse `ip [-s] xfrm state` (text: iproute2 has no JSON for xfrm). Each SA starts with
 * `src A dst B` at column 0; its other lines are indented.
 */
export function parseXfrmStates(text: string): KernelSa[] {
  const out: KernelSa[] = [];
  let cur: KernelSa | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const head = /^src (\S+) dst (\S+)\s*$/.exec(line);
    if (head) {
      cur = { src: head[1]!, dst: head[2]!, proto: '', spi: 0 };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^proto (\S+) spi (0x[0-9a-f]+)(?:\(\d+\))? reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)/i.exec(t))) {
      cur.proto = m[1]!;
      cur.spi = parseInt(m[2]!, 16);
      cur.reqid = Number(m[3]);
      cur.mode = m[4]!;
    } else if ((m = /^aead (\S+) (0x[0-9a-f]+)(?: \(\d+ bits\))? (\d+)$/i.exec(t))) cur.aead = { name: m[1]!, key: keyOf(m[2]!), icvBits: Number(m[3]) };
    else if ((m = /^enc (\S+) (0x[0-9a-f]+)/i.exec(t))) cur.enc = { name: m[1]!, key: keyOf(m[2]!) };
    else if ((m = /^auth-trunc (\S+) (0x[0-9a-f]+)(?: \(\d+ bits\))? (\d+)$/i.exec(t))) cur.auth = { name: m[1]!, key: keyOf(m[2]!), truncBits: Number(m[3]) };
    else if ((m = /^auth (\S+) (0x[0-9a-f]+)/i.exec(t))) cur.auth = { name: m[1]!, key: keyOf(m[2]!), truncBits: authFullBits(m[1]!) };
    else if ((m = /^sel src (\S+) dst (\S+)(.*)$/.exec(t))) {
      const rest = m[3]!;
      const proto = /proto (\S+)/.exec(rest)?.[1];
      const sport = /sport (\d+)/.exec(rest)?.[1];
      const dport = /dport (\d+)/.exec(rest)?.[1];
      cur.sel = { src: m[1]!.split('/')[0]!, dst: m[2]!.split('/')[0]!, ...(proto ? { proto } : {}), ...(sport ? { sport: Number(sport) } : {}), ...(dport ? { dport: Number(dport) } : {}) };
    } else if (/^lifetime current:/.test(t)) {
      const next = lines[i + 1]?.trim() ?? '';
      const pk = /^(\d+)\(bytes\), (\d+)\(packets\)/.exec(next);
      if (pk) cur.packets = Number(pk[2]);
    }
  }
  return out;
}

function authFullBits(name: string): number {
  return /sha256/.test(name) ? 256 : /sha384/.test(name) ? 384 : /sha512/.test(name) ? 512 : /md5/.test(name) ? 128 : 160;
}

/** Whether two address texts name the same address (the kernel and the recipe may spell IPv6 differently). */
export const sameAddr = sameIp;

/** ESP SAs in both directions between two addresses, covering the tunnel's packets (when the SA names a selector). */
export function saPair(sas: KernelSa[], local: string, remote: string, proto?: string): { out?: KernelSa; in?: KernelSa } {
  const covers = (s: KernelSa) => !proto || !s.sel?.proto || s.sel.proto === proto || s.sel.proto === '0';
  const esp = sas.filter((s) => s.proto === 'esp' && covers(s));
  return {
    out: esp.find((s) => sameAddr(s.src, local) && sameAddr(s.dst, remote)),
    in: esp.find((s) => sameAddr(s.src, remote) && sameAddr(s.dst, local)),
  };
}

/** The kernel's SAs as the decoder's keyring (what `ip xfrm state` shows is what it needs). */
export function espKeyring(sas: KernelSa[]): EspSa[] {
  return sas
    .filter((s) => s.proto === 'esp')
    .map((s) => ({ spi: s.spi, src: s.src, dst: s.dst, ...(s.aead ? { aead: s.aead } : {}), ...(s.enc ? { enc: s.enc } : {}), ...(s.auth ? { auth: s.auth } : {}) }));
}
