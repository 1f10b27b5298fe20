/**
 * Where the lab's OVN daemons keep their files. Everything lives under the lab's run directory
 * (`<state dir>/run/<lab>/`), one directory per daemon set, each carrying a marker so that stop
 * and gc remove only directories the lab made:
 *   ovn-central/   NB and SB databases, their sockets, ovn-northd (pidfiles, unixctl, logs)
 *   ovn-<host>/    ovn-controller of one chassis (pidfile, unixctl, log)
 */
import { createHash } from 'node:crypto';

export const OVN_RUNDIR_MARKER = '.geneve-lab-ovn';

export interface OvnCentralPaths {
  runDir: string;
  marker: string;
  nbDb: string;
  sbDb: string;
  nbSocket: string;
  sbSocket: string;
  nbPid: string;
  sbPid: string;
  nbCtl: string;
  sbCtl: string;
  nbLog: string;
  sbLog: string;
  northdPid: string;
  northdCtl: string;
  northdLog: string;
}

export interface OvnControllerPaths {
  runDir: string;
  marker: string;
  pid: string;
  log: string;
}

const under = (runDir: string) => (f: string) => `${runDir.replace(/\/+$/, '')}/${f}`;

export function ovnCentralPaths(runDir: string): OvnCentralPaths {
  const p = under(runDir);
  return {
    runDir,
    marker: p(OVN_RUNDIR_MARKER),
    nbDb: p('ovnnb.db'),
    sbDb: p('ovnsb.db'),
    nbSocket: p('nb.sock'),
    sbSocket: p('sb.sock'),
    nbPid: p('ovsdb-nb.pid'),
    sbPid: p('ovsdb-sb.pid'),
    nbCtl: p('ovsdb-nb.ctl'),
    sbCtl: p('ovsdb-sb.ctl'),
    nbLog: p('ovsdb-nb.log'),
    sbLog: p('ovsdb-sb.log'),
    northdPid: p('ovn-northd.pid'),
    northdCtl: p('ovn-northd.ctl'),
    northdLog: p('ovn-northd.log'),
  };
}

export function ovnControllerPaths(runDir: string): OvnControllerPaths {
  const p = under(runDir);
  return { runDir, marker: p(OVN_RUNDIR_MARKER), pid: p('ovn-controller.pid'), log: p('ovn-controller.log') };
}

/**
 * ovn-controller names its unixctl socket after its pid (`ovn-controller.<pid>.ctl` in its
 * OVN_RUNDIR); 23.03 has no --unixctl option to choose it.
 */
export function ovnControllerCtl(runDir: string, pid: number): string {
  return under(runDir)(`ovn-controller.${pid}.ctl`);
}

/** Unix socket paths are limited to 107 bytes; the longest one a directory holds must fit. */
const LONGEST = 'ovn-controller.4194304.ctl';

function runDirFor(runRoot: string, lab: string, leaf: string): string {
  const plain = `${runRoot}/${lab}/${leaf}`;
  if (plain.length + 1 + LONGEST.length <= 100) return plain;
  // Still under the lab's directory (removed with it), with a short stable name.
  const short = `${runRoot}/${lab}/${leaf.slice(0, 4)}${createHash('sha1').update(leaf).digest('hex').slice(0, 8)}`;
  if (short.length + 1 + LONGEST.length <= 100) return short;
  return `${runRoot}/ovn-${createHash('sha1').update(`${lab}/${leaf}`).digest('hex').slice(0, 12)}`;
}

/** The central's run directory (NB, SB, ovn-northd). */
export function ovnCentralRunDir(runRoot: string, lab: string): string {
  return runDirFor(runRoot, lab, 'ovn-central');
}

/** One chassis' ovn-controller run directory. */
export function ovnControllerRunDir(runRoot: string, lab: string, host: string): string {
  return runDirFor(runRoot, lab, `ovn-${host}`);
}

/** Environment that keeps the OVN tools' defaults (pidfiles, sockets, logs) inside runDir. */
export function ovnEnv(runDir: string, ovsRunDir?: string): Record<string, string> {
  return {
    OVN_RUNDIR: runDir,
    OVN_DBDIR: runDir,
    OVN_LOGDIR: runDir,
    // ovn-controller reaches vswitchd through <OVS_RUNDIR>/<bridge>.mgmt.
    ...(ovsRunDir ? { OVS_RUNDIR: ovsRunDir } : { OVS_RUNDIR: runDir }),
  };
}

/** Where the OVN schemas are installed (Debian: ovn-common). */
export const OVN_SCHEMA_DIR = '/usr/share/ovn';
