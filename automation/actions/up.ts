// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/up.ts with it.
import { InternalError } from "../errors.js";
import type { ActionContext, StepOp } from "../types.js";

export interface UpOptions {
  stack: string;
  message?: string;
}

export interface UpReport {
  stack: string;
  changeSummary: Partial<Record<StepOp, number>>;
  durationMs: number;
}

export async function up(_opts: UpOptions, _ctx: ActionContext): Promise<UpReport> {
  throw new InternalError("up is not implemented yet");
}
