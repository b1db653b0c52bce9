// `sie-fleet verify`: run the verification gates against what is deployed now; changes nothing.
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext, GateResult } from "../../core/types.js";
import { finalVerification } from "./upgrade/verification.js";
import { loadStackContext } from "./context.js";
import { stackTarget } from "./target.js";

export interface VerifyOptions {
  stack: string;
}

export interface VerifyReport {
  stack: string;
  ok: boolean;
  gates: GateResult[];
}

export async function verify(opts: VerifyOptions, ctx: ActionContext): Promise<VerifyReport> {
  assertStackName(opts.stack);
  const sc = await loadStackContext(stackTarget(opts.stack, ctx));
  const gates = await finalVerification(sc, sc.imageTag, ctx.signal);
  return { stack: opts.stack, ok: gates.every((g) => g.status !== "fail"), gates };
}
