// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/verify.ts with it.
import { InternalError } from "../errors.js";
import type { ActionContext, GateResult } from "../types.js";

export interface VerifyOptions {
  stack: string;
}

export interface VerifyReport {
  stack: string;
  ok: boolean;
  gates: GateResult[];
}

export async function verify(_opts: VerifyOptions, _ctx: ActionContext): Promise<VerifyReport> {
  throw new InternalError("verify is not implemented yet");
}
