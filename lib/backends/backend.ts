/**
 * The interface every kernel backend implements (iproute2 processes, in-process netlink,
 * later SSH). A backend only executes operations; ordering, journaling and rollback are the
 * engine's job.
 */
import type { Step } from '../plan/ops.js';

export interface ExecuteHooks {
  /** Called before the given steps touch the system, so the journal records intent first. */
  intent(steps: readonly Step[]): Promise<void>;
  /** Called after each step succeeded. */
  done(step: Step, durationMs: number): void | Promise<void>;
}

export interface Backend {
  readonly name: string;
  /**
   * Execute steps in order. Stops at the first failure and throws a StepFailed naming that
   * step; every step before it has been reported through `hooks.done`.
   */
  execute(steps: readonly Step[], hooks: ExecuteHooks): Promise<void>;
  /** Execute one operation outside a plan (undo during rollback/teardown); throws OpError. */
  run(step: Step): Promise<void>;
  /** The ownership tag (lo's alias) of a namespace, read in-process where the backend can. */
  netnsTag?(ns: string): Promise<string | undefined>;
  /**
   * The names of every link of a namespace of this machine and its tag (lo's alias), from one
   * in-process dump; undefined when the namespace cannot be read (absent). Used by the drift
   * check of a re-`up`, which would otherwise start processes per namespace.
   */
  linkDump?(ns: string): Promise<LinkDump | undefined>;
  close(): Promise<void>;
}

export interface LinkDump {
  names: string[];
  tag?: string;
}

export class StepFailed extends Error {
  constructor(
    readonly step: Step,
    override readonly cause: unknown,
  ) {
    super(`step ${step.id} failed`);
  }
}
