// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/rollback.ts with it.
import { InternalError } from "../errors.js";
import type { ActionContext, RollbackTarget, UpgradeResult } from "../types.js";

export interface RollbackOptions {
  stack: string;
  target: RollbackTarget;
  dryRun?: boolean;
  force?: boolean;
}

export async function rollback(_opts: RollbackOptions, _ctx: ActionContext): Promise<UpgradeResult> {
  throw new InternalError("rollback is not implemented yet");
}
