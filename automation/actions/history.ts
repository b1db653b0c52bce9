// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/history.ts with it.
import { InternalError } from "../errors.js";
import type { ActionContext } from "../types.js";

export interface HistoryOptions {
  stack: string;
  limit?: number;
}

export interface HistoryEntry {
  /** Pulumi update number (what `rollback --to update:<n>` takes). */
  version: number;
  kind: string;
  result: string;
  startTime: string;
  endTime?: string;
  message?: string;
  imageTag?: string;
  /** The sie-fleet run that made this update, if any, and how it ended. */
  runId?: string;
  outcome?: string;
}

export async function history(_opts: HistoryOptions, _ctx: ActionContext): Promise<HistoryEntry[]> {
  throw new InternalError("history is not implemented yet");
}
