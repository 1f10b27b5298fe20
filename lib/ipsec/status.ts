/**
 * strongSwan's view, parsed: `ipsec status` (which connections are routed, which IKE SAs are
 * up, which CHILD_SAs are installed with which SPIs) and the lines of charon's log that say why
 * an SA did not come up. Pure.
 */
import { escapeRegExp } from '../regexp.js';

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
  const re = new RegExp(`^${escapeRegExp(port)}-(?:(?:in|out)-)?(\\d+)$`);
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
  [
    /ENCRYPTION_ALGORITHM \S+ \(key size \d+\) not supported|key derivation failed/,
    "charon cannot use the negotiated IKE algorithm (\"not supported!\", \"key derivation failed\"): a crypto plugin is missing — OVS's IKE proposal is AES-GCM, which needs strongSwan's gcm (or openssl) plugin: install libstrongswan-standard-plugins and restart the IKE daemon",
  ],
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

/**
 * The AEAD ovs-monitor-ipsec's strongSwan connections use: its `conn %default` fixes
 * `ike=aes256gcm16-sha256-modp2048` (and the same ESP unless the port says otherwise), whatever
 * the port's options. strongSwan's feature name for it in `ipsec listplugins`.
 */
export const OVS_IKE_AEAD = 'AEAD:AES_GCM_16-32';

/**
 * Whether the machine's charon can run ovs-monitor-ipsec's IKE proposal, from `ipsec listplugins`
 * (pure): a message when no loaded plugin provides AES-GCM-256 (Debian: the gcm plugin is in
 * libstrongswan-standard-plugins, only a Recommends of strongswan). Without it charon accepts the
 * proposal in IKE_SA_INIT and then fails to derive the keys, so IKE never completes. undefined when
 * it can, or when the text is not strongSwan's plugin list (nothing to judge from).
 */
export function ikeCryptoProblem(listplugins: string): string | undefined {
  // stroke's list: "name:" per plugin, then what it provides (4 spaces; " (not loaded)" appended
  // when a dependency is missing) and what that depends on (8 spaces). Anything else is not a
  // list to judge.
  if (!/^List of loaded Plugins:/m.test(listplugins) || !/^ {4}\S/m.test(listplugins)) return undefined;
  const aead = new RegExp(`^ {4}${OVS_IKE_AEAD}$`, 'm');
  if (aead.test(listplugins)) return undefined;
  const loaded = listplugins
    .split('\n')
    .map((l) => /^(\S+):\s*$/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x));
  return (
    `strongSwan's charon on this machine has no AES-GCM (${OVS_IKE_AEAD}), which ovs-monitor-ipsec's IKE proposal (aes256gcm16) needs — ` +
    `IKE would never complete (charon: "AES_GCM_16 (key size 256) not supported!"). Install the gcm or openssl plugin ` +
    `(Debian/Ubuntu: apt-get install libstrongswan-standard-plugins) and restart the IKE daemon (systemctl restart openvswitch-ipsec)` +
    (loaded.length ? `; loaded plugins: ${loaded.join(' ')}` : '')
  );
}
