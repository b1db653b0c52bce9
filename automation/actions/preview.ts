// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/preview.ts with it.
import { InternalError } from "../errors.js";
import type { GuardrailResult } from "../guardrails.js";
import type { VersionPolicyResult } from "../policy/version.js";
import type { ActionContext, PreviewStep, StepOp } from "../types.js";

export interface PreviewOptions {
  stack: string;
  /** Preview an upgrade to this tag instead of the stack's current config. */
  to?: string;
  chartVersion?: string;
}

export interface PreviewReport {
  stack: string;
  changeSummary: Partial<Record<StepOp, number>>;
  steps: PreviewStep[];
  guardrails: GuardrailResult;
  policy?: VersionPolicyResult;
}

export async function preview(_opts: PreviewOptions, _ctx: ActionContext): Promise<PreviewReport> {
  throw new InternalError("preview is not implemented yet");
}
