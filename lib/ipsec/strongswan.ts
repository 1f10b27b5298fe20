/**
 * The text of every strongSwan file one simulated host's IKE daemon reads (pure, so tests read it
 * verbatim). strongSwan because Debian's openvswitch-ipsec (ovs-monitor-ipsec) depends on it: the
 * same daemon serves OVS ports (connections ovs-monitor-ipsec writes) and kernel netdev ends
 * (connections the lab writes), on one charon per host.
 */
import { DEFAULT_ESP, espProposal, IKE_PROPOSAL } from './algorithms.js';
import type { IkeConn } from './ops.js';
import type { IpsecPaths } from './paths.js';
import type { Secret } from './secret.js';

/** Single-quote for /bin/sh (paths the lab chose; still quoted). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function strongswanConf(p: IpsecPaths, label: string): string {
  return `# geneve-lab: charon for ${label} (generated; removed with the lab)
charon {
  # The plugins as the strongSwan packages configure them, except bypass-lan, which would exempt
  # the lab's own underlay subnet from IPsec.
  load_modular = yes
  plugins {
    include /etc/strongswan.d/charon/*.conf
    bypass-lan {
      load = no
    }
    kernel-netlink {
      # What ovs-monitor-ipsec asks of charon (its strongswan.d/ovs.conf): SAs bound to the
      # protocol and port, so a peer's in and out connections get SAs of their own.
      set_proto_port_transport_sa = yes
      xfrm_ack_expires = 10
    }
    stroke {
      secrets_file = ${p.ipsecSecrets}
    }
  }
  # The lab's log file only: no syslog, no journal.
  filelog {
    lab {
      path = ${p.charonLog}
      time_format = %b %e %T
      default = 1
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
    auth {
      default = -1
    }
  }
}
starter {
  config_file = ${p.ipsecConf}
}
`;
}

/** starter's ipsec.conf: the monitor's connections (when it runs) and the lab's. */
export function ipsecConfTop(p: IpsecPaths, label: string, withMonitor: boolean): string {
  return [
    `# geneve-lab: IKE connections of ${label} (generated)`,
    'config setup',
    '    uniqueids=yes',
    ...(withMonitor ? ['# written by ovs-monitor-ipsec (OVS ports with a pre-shared key)', `include ${p.monitorConf}`] : []),
    '# the lab\'s own (kernel tunnel netdevs)',
    `include ${p.labDir}/*.conf`,
    '',
  ].join('\n');
}

export function ipsecSecretsTop(p: IpsecPaths, withMonitor: boolean): string {
  return [...(withMonitor ? [`include ${p.monitorSecrets}`] : []), `include ${p.labDir}/*.secrets`, ''].join('\n');
}

/** What ovs-monitor-ipsec would start from; it rewrites the file whenever OVSDB changes. */
export const MONITOR_CONF_INITIAL = 'config setup\n';

/**
 * `ipsec` for this host: strongSwan's own script with STRONGSWAN_CONF set, in a mount namespace
 * of its own where the host's private run directory is mounted on /run. starter and charon keep
 * their pid files and control socket at fixed paths under /run, so this is what lets one kernel
 * run one charon per simulated host; every later `ipsec` call (the monitor's, the lab's) sees the
 * same files through the same mount. The namespace ends with the processes in it.
 *
 * When the host's directory itself lives under /run (the default state directory is
 * /run/geneve-lab), mounting over /run would hide strongswan.conf and everything else in it:
 * so the directory is first bound at the same path inside the private run directory, and that
 * one is bound on /run with its submounts (--rbind). Paths are resolved first (/var/run is a
 * symbolic link to /run).
 */
const WRAPPER_INNER = [
  'run=$(readlink -f "$0") && dir=$(readlink -f "$1") || exit 1',
  'shift',
  'case $dir in /run/*) inner=$run${dir#/run}; mkdir -p "$inner" && mount --bind "$dir" "$inner" || exit 1;; esac',
  'mount --rbind "$run" /run && exec /usr/sbin/ipsec "$@"',
].join('\n');

export function wrapperScript(p: IpsecPaths, label: string): string {
  return `#!/bin/sh
# geneve-lab: strongSwan's ipsec for ${label.replace(/\n/g, ' ')}, confined to ${p.dir} (generated)
STRONGSWAN_CONF=${shq(p.strongswanConf)}
export STRONGSWAN_CONF
exec unshare --mount --propagation private -- /bin/sh -c ${shq(WRAPPER_INNER)} ${shq(p.run)} ${shq(p.dir)} "$@"
`;
}

/** The lab's strongSwan connections for one kernel netdev end. */
export function labConns(conns: IkeConn[], esp = DEFAULT_ESP): string {
  return conns
    .map((c) =>
      [
        `conn ${c.name}`,
        '    keyexchange=ikev2',
        '    type=transport',
        '    auto=route',
        '    keyingtries=%forever',
        '    authby=psk',
        `    ike=${IKE_PROPOSAL}`,
        `    esp=${espProposal(esp)}`,
        `    left=${c.local}`,
        `    right=${c.remote}`,
        `    leftprotoport=${c.localProto}`,
        `    rightprotoport=${c.remoteProto}`,
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** The secrets line for a peer (as ovs-monitor-ipsec writes it). Reveals the PSK: written to a 0600 file only. */
export function labSecrets(remote: string, psk: Secret): string {
  return `%any ${remote} : PSK "${psk.reveal()}"\n`;
}

/**
 * The lab's connection names for a tunnel end. ovs-monitor-ipsec takes down every connection in
 * `ipsec status` whose name looks like one of its own (`<port>-<n>`, `<port>-in-<n>`): the lab's
 * names carry no "-<digit>", so they are left alone.
 */
export function labConnName(tunnel: string, dir?: 'in' | 'out'): string {
  return `gl_${tunnel.replace(/-/g, '_')}${dir ? `_${dir}` : ''}`;
}

/** The connections for a kernel netdev end, mirroring ovs-monitor-ipsec's, so either kind of end agrees with the other. */
export function ikeConnsFor(tunnel: string, type: 'geneve' | 'vxlan' | 'gre', local: string, remote: string, port?: number): IkeConn[] {
  if (type === 'gre') return [{ name: labConnName(tunnel), local, remote, localProto: 'gre', remoteProto: 'gre' }];
  return [
    { name: labConnName(tunnel, 'in'), local, remote, localProto: `udp/${port}`, remoteProto: 'udp' },
    { name: labConnName(tunnel, 'out'), local, remote, localProto: 'udp', remoteProto: `udp/${port}` },
  ];
}
