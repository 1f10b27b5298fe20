/**
 * The plan operations of OVN (part of the `Op` union in lib/plan/ops.ts). Like the OVS
 * operations they are plain data (printed by `plan`, kept in the journal) and executed by the
 * OVS runner, which hands them to lib/ovn/runner.ts. Daemons are started inside the host's
 * namespace; the database clients (ovn-nbctl, ovn-sbctl) run wherever the engine runs and
 * reach the databases through their unix sockets under runDir.
 */
export type OvnOp =
  /**
   * Create the NB and SB databases and start their ovsdb-servers plus ovn-northd inside `ns`,
   * files under runDir. With `listen`, the databases also listen on TCP at that address (6641,
   * 6642) so chassis on other hosts reach the SB over the underlay, as in a real deployment.
   */
  | { op: 'ovn.central.start'; ns: string; runDir: string; lab: string; listen?: string }
  /** Stop ovn-northd and both ovsdb-servers (graceful, then signals) and remove runDir. */
  | { op: 'ovn.central.stop'; ns: string; runDir: string; lab: string }
  /**
   * Start ovn-controller inside the chassis host's namespace against that host's OVS
   * (its database socket under ovsRunDir); its own files under runDir.
   */
  | { op: 'ovn.controller.start'; ns: string; runDir: string; lab: string; ovsRunDir: string; chassis: string }
  /** `exit` (ovn-controller removes its chassis record and tunnels), then signals; remove runDir. */
  | { op: 'ovn.controller.stop'; ns: string; runDir: string; lab: string; ovsRunDir: string; chassis: string }
  /** One ovn-nbctl transaction (commands joined with `--`) against the central's NB database. */
  | { op: 'ovn.nbctl'; ns: string; runDir: string; lab: string; cmds: string[][] }
  /**
   * Readiness: every chassis registered in the SB, every listed logical port `up`, every
   * chassis' Geneve tunnel to each other chassis present in its OVS with an OpenFlow port
   * number (`mesh`), then `ovn-nbctl --wait=hv sync` (every chassis has applied the NB contents,
   * computed with those tunnels). `neighbours`: on the userspace datapath, each listed chassis'
   * vswitchd must know the MAC of every other chassis' encap address (its tunnel neighbour
   * cache) before any check's first packet, which it would otherwise drop while resolving it.
   */
  | {
      op: 'ovn.ready';
      ns: string;
      runDir: string;
      lab: string;
      chassis: string[];
      ports: string[];
      timeoutMs: number;
      mesh: { chassis: string; ovsRunDir: string; remotes: string[] }[];
      neighbours: { chassis: string; ns: string; ovsRunDir: string; addresses: string[] }[];
    };

export type OvnOpName = OvnOp['op'];

export const isOvnOp = (op: { op: string }): op is OvnOp => op.op.startsWith('ovn.');
