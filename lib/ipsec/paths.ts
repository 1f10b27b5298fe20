/**
 * Where one simulated host's IKE daemons keep their files: everything under one directory in the
 * lab's run directory, removed again when they stop. The directory is also ovs-monitor-ipsec's
 * --root-prefix (it writes DIR/etc/ipsec.conf and DIR/etc/ipsec.secrets and runs DIR/usr/sbin/ipsec,
 * its strongSwan helper knowing no other way to be pointed elsewhere), and the private /run that
 * starter and charon see (their pid files and control socket have fixed paths under /run).
 */
import { createHash } from 'node:crypto';

export const IPSEC_MARKER = '.geneve-lab-ipsec';

export interface IpsecPaths {
  dir: string;
  marker: string;
  /** charon's configuration (STRONGSWAN_CONF). */
  strongswanConf: string;
  /** starter's ipsec.conf: includes the monitor's and the lab's connections. */
  ipsecConf: string;
  /** stroke's secrets file (0600): includes the monitor's and the lab's secrets. */
  ipsecSecrets: string;
  /** Written by ovs-monitor-ipsec (root prefix). */
  monitorConf: string;
  monitorSecrets: string;
  /** The lab's own connections and secrets for kernel netdev ends, one pair of files per tunnel end. */
  labDir: string;
  /** `ipsec` for this host: STRONGSWAN_CONF set, a private /run; what ovs-monitor-ipsec and the lab call. */
  wrapper: string;
  /** The private /run (charon.pid, starter.charon.pid, charon.ctl). */
  run: string;
  starterPid: string;
  charonPid: string;
  charonLog: string;
  monitorPid: string;
  monitorLog: string;
}

export function ipsecPaths(dir: string): IpsecPaths {
  const p = (f: string) => `${dir.replace(/\/+$/, '')}/${f}`;
  return {
    dir,
    marker: p(IPSEC_MARKER),
    strongswanConf: p('strongswan.conf'),
    ipsecConf: p('ipsec.conf'),
    ipsecSecrets: p('ipsec.secrets'),
    monitorConf: p('etc/ipsec.conf'),
    monitorSecrets: p('etc/ipsec.secrets'),
    labDir: p('lab.d'),
    wrapper: p('usr/sbin/ipsec'),
    run: p('run'),
    starterPid: p('run/starter.charon.pid'),
    charonPid: p('run/charon.pid'),
    charonLog: p('charon.log'),
    monitorPid: p('ovs-monitor-ipsec.pid'),
    monitorLog: p('ovs-monitor-ipsec.log'),
  };
}

/**
 * A host's IPsec directory under the run root, short enough for ovs-monitor-ipsec's control
 * socket (DIR/ovs-monitor-ipsec.<pid>.ctl, a unix socket path: at most 107 bytes).
 */
export function ipsecDir(runRoot: string, lab: string, host: string): string {
  const plain = `${runRoot}/${lab}/ipsec-${host}`;
  if (`${plain}/ovs-monitor-ipsec.4194304.ctl`.length <= 100) return plain;
  return `${runRoot}/ipsec-${createHash('sha1').update(`${lab}/${host}`).digest('hex').slice(0, 12)}`;
}

/** The file name (without extension) of a tunnel end's connections under lab.d. */
export function connsFile(tunnel: string): string {
  return tunnel.replace(/[^a-z0-9-]/g, '_');
}
