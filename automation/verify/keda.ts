// KEDA check: every ScaledObject of the release is Ready=True and not in Fallback. Fallback=True
// means KEDA cannot read its metrics (Prometheus down, broken query) and is holding the pool at
// the fallback size: it is only set after `fallback.failureThreshold` failed polls, so one
// sighting is a definite fail. Ready≠True may be a poll away from settling after the thaw, so it
// is retried. Run after the KEDA thaw: a paused ScaledObject does not evaluate its triggers.
import { readScaledObjects } from "../kube/kedaStatus.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

export function kedaCheck(ctx: VerifyContext): Check {
  return {
    name: "keda",
    async run() {
      const targets = new Set(workloadsInScope(ctx).map((w) => w.name));
      const rows = await readScaledObjects(ctx.kube.api, ctx.names.namespace, targets);
      if (rows.length === 0)
        return {
          status: "pass",
          message: `no ScaledObjects for the release in ${ctx.names.namespace} (autoscaling off)`,
          evidence: { namespace: ctx.names.namespace },
        };
      const evidence = { scaledObjects: rows };
      const fallback = rows.filter((r) => r.fallback === "True");
      if (fallback.length > 0) {
        return {
          status: "fail",
          message: `ScaledObject ${fallback.map((r) => r.name).join(", ")} in Fallback: ${fallback[0]!.fallbackMessage ?? fallback[0]!.fallbackReason ?? "metrics unavailable"}`,
          evidence,
        };
      }
      const notReady = rows.filter((r) => r.ready !== "True");
      if (notReady.length > 0) {
        const r = notReady[0]!;
        return {
          status: "pending",
          message: `ScaledObject ${notReady.map((x) => x.name).join(", ")} not Ready: ${r.readyReason ?? "no Ready condition"}${r.readyMessage ? ` (${r.readyMessage})` : ""}`,
          evidence,
        };
      }
      const paused = rows.filter((r) => r.pausedReplicas !== null || r.paused !== null).map((r) => r.name);
      return {
        status: "pass",
        message: `${rows.length} ScaledObject(s) Ready, none in Fallback${paused.length ? ` (still paused: ${paused.join(", ")})` : ""}`,
        evidence,
      };
    },
  };
}
