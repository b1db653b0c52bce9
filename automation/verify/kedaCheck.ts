// KEDA check: every ScaledObject of the release is Ready=True and not in Fallback. Fallback=True
// means KEDA cannot read its metrics (Prometheus down, broken query) and has fallen back: it is
// only set after `fallback.failureThreshold` failed polls, so one sighting is a definite fail.
// Ready≠True may be a poll away from settling after the thaw, so it is retried. With autoscaling
// on, each worker pool in scope must have its ScaledObject: a missing one, or a cluster serving no
// keda.sh API, is a fail, not "autoscaling off". Run after the KEDA thaw: a paused ScaledObject
// does not evaluate its triggers.
import { readScaledObjects } from "../kube/kedaStatus.js";
import { expectedScaledObjects, missingScaledObjects } from "../plan/kedaPolicy.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

export function kedaCheck(ctx: VerifyContext): Check {
  return {
    name: "keda",
    async run() {
      const workloads = workloadsInScope(ctx);
      const targets = new Set(workloads.map((w) => w.name));
      const pools = workloads.flatMap((w) => (w.pool ? [w.pool] : []));
      const expected = ctx.autoscaling ? expectedScaledObjects(ctx.names.fullname, pools) : [];
      const { scaledObjects: rows, kedaApiMissing } = await readScaledObjects(ctx.kube.api, ctx.names.namespace, targets);
      if (kedaApiMissing && expected.length > 0) {
        return {
          status: "fail",
          message: `ScaledObject ${expected.join(", ")} missing: the cluster serves no keda.sh API (KEDA's CRDs are not installed) although autoscaling.enabled is true`,
          evidence: { namespace: ctx.names.namespace, missing: expected },
        };
      }
      const missing = missingScaledObjects(expected, rows);
      if (missing.length > 0) {
        return {
          status: "fail",
          message: `ScaledObject ${missing.join(", ")} missing although autoscaling.enabled is true; sie-fleet up recreates it`,
          evidence: { namespace: ctx.names.namespace, missing, scaledObjects: rows },
        };
      }
      if (rows.length === 0)
        return {
          status: "pass",
          message: `no ScaledObjects for the release in ${ctx.names.namespace} (${ctx.autoscaling ? "no worker pool in scope" : "autoscaling off"})`,
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
