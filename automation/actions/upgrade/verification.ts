// The verification suite run against a whole stack, with the stack's URLs and gate settings:
// what the final verify of an upgrade, a revert and `sie-fleet verify` share.
import type { FleetConfig } from "../../../infra/config/configTypes.js";
import { configTag, gatewayTag } from "../../../infra/release/releaseValues.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { overrideReason } from "../../plan/kedaPolicy.js";
import type { GateResult, RunCommand, RunPhase } from "../../../core/types.js";
import { phaseChecks, runVerification, type VerifyCheckName } from "../../verify/index.js";
import type { VerifyContext } from "../../verify/types.js";
import type { StackContext } from "../context.js";

/**
 * The tags the gateway and config pods run when the release is at `tag`: a stack that pins
 * `release.gatewayTag`/`configTag` keeps those components on the pinned tag through an upgrade, so
 * their image checks and request samples must expect it, not `tag`. Undefined when nothing is pinned apart.
 */
export function componentTagsAt(release: FleetConfig["release"], tag: string): VerifyContext["componentTags"] {
  const at = { release: { ...release, imageTag: tag } };
  const gateway = gatewayTag(at);
  const config = configTag(at);
  if (gateway === tag && config === tag) return undefined;
  return { ...(gateway !== tag ? { gateway } : {}), ...(config !== tag ? { config } : {}) };
}

/** The suite's final phase (or only `checks`), with the stack's URLs and gate settings. */
export function finalVerification(sc: StackContext, tag: string, signal?: AbortSignal, checks?: readonly VerifyCheckName[]): Promise<GateResult[]> {
  const componentTags = componentTagsAt(sc.config.release, tag);
  return runVerification({
    phase: "final",
    kube: sc.kube,
    names: sc.names,
    expectTag: tag,
    autoscaling: sc.config.autoscaling.enabled,
    ...(componentTags ? { componentTags } : {}),
    gates: sc.config.rollout.gates,
    ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
    ...(sc.configUrl ? { configUrl: sc.configUrl } : {}),
    ...(sc.prometheusUrl ? { prometheusUrl: sc.prometheusUrl } : {}),
    ...(checks ? { checks } : {}),
    ...(signal ? { signal } : {}),
  });
}

/**
 * The KEDA check right after the thaw (a ScaledObject evaluates its triggers again only then, so
 * Fallback can show only now), if the stack's final checks include it: a stack whose cluster runs
 * no KEDA operator leaves it out, and nothing would ever write the ScaledObjects' status.
 */
export function kedaAfterThaw(sc: StackContext, tag: string, signal?: AbortSignal): Promise<GateResult[]> {
  const finalChecks = phaseChecks(sc.config.rollout.gates, "final");
  if (!finalChecks.includes("keda")) return Promise.resolve([]);
  return finalVerification(sc, tag, signal, ["keda"]);
}

/** A failing `keda` gate as a rollback sees it: a warning saying why it does not fail the run. */
export function kedaGateForRollback(gate: GateResult): GateResult {
  if (gate.name !== "keda" || gate.status !== "fail") return gate;
  return { ...gate, status: "warn", message: `${gate.message} (${overrideReason("rollback")})` };
}

/**
 * A rollback is the way back exactly when metrics are broken, and then KEDA shows it (Fallback, or
 * Ready=False with TriggerError): reverting the rollback for that would undo the one fix at hand.
 * So in a rollback a failing `keda` gate of the final verification or the after-thaw check becomes
 * a warning, shown as a warning line and journaled like the preflight's override; every other gate,
 * and every gate of an upgrade, is returned as it is.
 */
export async function kedaGatesFor(
  command: RunCommand,
  gates: GateResult[],
  phase: Extract<RunPhase, "verify" | "thaw">,
  emit: ProgressEmitter,
  journal: Journal,
): Promise<GateResult[]> {
  if (command !== "rollback") return gates;
  const out: GateResult[] = [];
  for (const gate of gates) {
    const judged = kedaGateForRollback(gate);
    if (judged !== gate) {
      const message = `KEDA problems ${overrideReason("rollback")}: ${gate.message}`;
      await journal.decision(phase, JOURNAL_ACTIONS.verifyKeda, { message, data: { gate: gate.name, evidence: gate.evidence } });
      emit.log("warn", phase, message);
    }
    out.push(judged);
  }
  return out;
}
