/**
 * strongSwan's view, parsed: `ipsec status` (which connections are routed, which IKE SAs are
 * up, which CHILD_SAs are installed with which SPIs) and the lines of charon's log that say why
 * an SA did not come up. Pure.
 */

export interface ChildSa {
  conn: string;
  id: number;
  state: string;
  spis?: { in: number; out: number };
}

export interface IkeSa {
  conn: string;
  id: number;
  state: string;
}

export interface IpsecStatus {
  routed: string[];
  ike: IkeSa[];
  children: ChildSa[];
}

export function parseIpsecStatus(text: string): IpsecStatus {
  const out: IpsecStatus = { routed: [], ike: [], children: [] };
  let section = '';
  for (const line of text.split('\n')) {
    if (/^Routed Connections:/.test(line)) section = 'routed';
    else if (/^Security Associations/.test(line)) section = 'sas';
    else if (/^Shunted Connections:/.test(line)) section = 'shunted';
    const child = /^\s*(\S+?)\{(\d+)\}:\s+([A-Z_]+),/.exec(line);
    if (child) {
      if (section === 'routed' && child[3] === 'ROUTED') {
        if (!out.routed.includes(child[1]!)) out.routed.push(child[1]!);
        continue;
      }
      const spis = /ESP SPIs: ([0-9a-f]+)_i(?:\*)? ([0-9a-f]+)_o/.exec(line);
      out.children.push({ conn: child[1]!, id: Number(child[2]), state: child[3]!, ...(spis ? { spis: { in: parseInt(spis[1]!, 16), out: parseInt(spis[2]!, 16) } } : {}) });
      continue;
    }
    const ike = /^\s*(\S+?)\[(\d+)\]:\s+([A-Z_]+)\b/.exec(line);
    if (ike && section === 'sas') out.ike.push({ conn: ike[1]!, id: Number(ike[2]), state: ike[3]! });
  }
  return out;
}

/** The connections ovs-monitor-ipsec made for a port: `<port>-<version>` or `<port>-in-<v>` / `<port>-out-<v>`. */
export function ovsPortConns(routed: string[], port: string): string[] {
  const re = new RegExp(`^${port.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(?:(?:in|out)-)?(\\d+)$`);
  const mine = routed.filter((c) => re.test(c));
  // After a reconfiguration the monitor briefly has two versions: keep the newest.
  const newest = Math.max(...mine.map((c) => Number(re.exec(c)![1])));
  return mine.filter((c) => Number(re.exec(c)![1]) === newest);
}

export function installed(status: IpsecStatus, conn: string): ChildSa | undefined {
  return status.children.find((c) => c.conn === conn && c.state === 'INSTALLED');
}

const FAILURES: [RegExp, string][] = [
  [/AUTHENTICATION_FAILED|authentication of '.*' with pre-shared key failed|tried \d+ shared key/, 'IKE authentication failed (AUTHENTICATION_FAILED): the two ends\' pre-shared keys differ'],
  [/no shared key found/, 'charon has no pre-shared key for the peer'],
  [/NO_PROPOSAL_CHOSEN|no acceptable proposal|received proposals unacceptable/, 'no common proposal (NO_PROPOSAL_CHOSEN): the ends disagree on algorithms, the peer has no matching connection yet, or the kernel lacks the ESP algorithm'],
  [/TS_UNACCEPTABLE|traffic selectors .* unacceptable/, 'traffic selectors unacceptable (TS_UNACCEPTABLE): the ends protect different protocols or ports'],
  [/unable to add SAD entry|unable to install (inbound|outbound) IPsec SA/, 'the kernel refused the SA (no ESP support or algorithm: modprobe esp4 / esp6)'],
  [/giving up after \d+ retransmits|retransmit \d+ of request/, 'no answer from the peer (IKE retransmits): is its IKE daemon running, is UDP 500/4500 reachable?'],
];

/**
 * Why negotiation failed, from charon's log lines, in words a lab user acts on: the most recent
 * failure only (an early "no proposal" while the peer was still loading its configuration says
 * nothing once authentication fails).
 */
export function negotiationHints(log: string): string[] {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const hit = FAILURES.find(([re]) => re.test(lines[i]!));
    if (hit) return [hit[1]];
  }
  return [];
}
