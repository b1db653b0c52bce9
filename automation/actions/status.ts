// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/status.ts with it.
import { InternalError } from "../errors.js";
import type { LockHolder } from "../errors.js";
import type { ActionContext } from "../types.js";

export interface StatusOptions {
  stack: string;
}

export interface WorkloadStatus {
  kind: "StatefulSet" | "Deployment";
  name: string;
  image?: string;
  ready: number;
  desired: number;
  done: boolean;
  reason: string;
}

export interface StatusReport {
  stack: string;
  imageTag?: string;
  workloads: WorkloadStatus[];
  /** The run holding the stack's lock, if any. */
  lock?: LockHolder;
  /** A run that never finished (run `recover`). */
  incompleteRunId?: string;
}

export async function status(_opts: StatusOptions, _ctx: ActionContext): Promise<StatusReport> {
  throw new InternalError("status is not implemented yet");
}
