// The verification suite run against a whole stack, with the stack's URLs and gate settings:
// what the final verify of an upgrade, a revert and `sie-fleet verify` share.
import type { GateResult } from "../types.js";
import { runVerification, type VerifyCheckName } from "../verify/index.js";
import type { StackContext } from "./context.js";

/** The suite's final phase (or only `checks`), with the stack's URLs and gate settings. */
export function finalVerification(sc: StackContext, tag: string, signal?: AbortSignal, checks?: readonly VerifyCheckName[]): Promise<GateResult[]> {
  return runVerification({
    phase: "final",
    kube: sc.kube,
    names: sc.names,
    expectTag: tag,
    gates: sc.config.rollout.gates,
    ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
    ...(sc.configUrl ? { configUrl: sc.configUrl } : {}),
    ...(sc.prometheusUrl ? { prometheusUrl: sc.prometheusUrl } : {}),
    ...(checks ? { checks } : {}),
    ...(signal ? { signal } : {}),
  });
}
