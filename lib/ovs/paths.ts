/** Where one owned OVS instance keeps its files (all under its runDir, removed on stop). */
export const RUNDIR_MARKER = '.geneve-lab-ovs';

export interface OvsPaths {
  runDir: string;
  marker: string;
  db: string;
  dbSocket: string;
  ovsdbPid: string;
  ovsdbCtl: string;
  ovsdbLog: string;
  vswitchdPid: string;
  vswitchdCtl: string;
  vswitchdLog: string;
}

export function ovsPaths(runDir: string): OvsPaths {
  const p = (f: string) => `${runDir.replace(/\/+$/, '')}/${f}`;
  return {
    runDir,
    marker: p(RUNDIR_MARKER),
    db: p('conf.db'),
    dbSocket: p('db.sock'),
    ovsdbPid: p('ovsdb-server.pid'),
    ovsdbCtl: p('ovsdb-server.ctl'),
    ovsdbLog: p('ovsdb-server.log'),
    vswitchdPid: p('ovs-vswitchd.pid'),
    vswitchdCtl: p('ovs-vswitchd.ctl'),
    vswitchdLog: p('ovs-vswitchd.log'),
  };
}

/** Environment that keeps every OVS tool (and vswitchd's bridge .mgmt sockets) inside runDir. */
export function ovsEnv(runDir: string): Record<string, string> {
  return { OVS_RUNDIR: runDir, OVS_DBDIR: runDir, OVS_LOGDIR: runDir };
}
