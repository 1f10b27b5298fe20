/**
 * The OVS layer's data-driven command vocabulary. Builders return these; an OvsInstance
 * executes them in order. They are plain data so the planner can print and journal them.
 */
export type OvsCommand =
  /** One ovs-vsctl transaction (commands already joined with `--`). */
  | { tool: 'vsctl'; args: string[] }
  /**
   * `input` is fed on stdin (add-flows/add-groups BRIDGE -: a whole program in one process);
   * `inputAt[i]` says where line i+1 of it came from (a recipe position), for error messages.
   */
  | { tool: 'ofctl'; args: string[]; input?: string; inputAt?: string[] }
  /** ovs-appctl to ovs-vswitchd. */
  | { tool: 'appctl'; args: string[] }
  /** Any other program (ip, ethtool), run inside `ns` when given. */
  | { tool: 'exec'; ns?: string; argv: string[] };

export interface CommandPlan {
  apply: OvsCommand[];
  /** Undo in the order given (already reversed). */
  undo: OvsCommand[];
}
