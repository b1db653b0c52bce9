// Rollout check: the same read as preflight's (kube/rollout.ts readRollout), judged with
// patience: a rollout that is not done but has no failing pod is "pending" and retried, so a slow
// but healthy rollout is not failed early; CrashLoopBackOff, image-pull errors and pods Running
// but not Ready past their grace period fail at once.
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { NOT_READY_AFTER_MS } from "../../core/defaults.js";
import { isHeld, readRollout, rolloutGateName } from "../kube/index.js";
import type { Workload } from "../../core/workloads.js";
import { workloadsInScope } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

export function rolloutChecks(ctx: VerifyContext): Check[] {
  return workloadsInScope(ctx).map((w) => rolloutCheck(ctx, w));
}

function rolloutCheck(ctx: VerifyContext, w: Workload): Check {
  const grace = ctx.notReadyAfterMs ?? NOT_READY_AFTER_MS[w.component === "worker" ? "pool" : w.component];
  return {
    name: rolloutGateName(w),
    async run() {
      const { obj, status: st, revision, pods, failing } = await readRollout(ctx.kube.api, ctx.names.namespace, w, grace);
      const held = w.kind === "StatefulSet" ? isHeld(obj as V1StatefulSet) : (obj as V1Deployment).spec?.paused === true;
      const evidence = { done: st.done, held, ...(revision ? { revision } : {}), newPods: pods.length, ...(failing.length ? { pods: failing } : {}) };
      if (failing.length > 0) {
        const f = failing[0]!;
        return {
          status: "fail",
          message: `${w.kind} ${w.name}: pod ${f.pod} ${f.reason}${f.message ? ` (${f.message})` : ""}${failing.length > 1 ? ` and ${failing.length - 1} more` : ""}`,
          evidence,
        };
      }
      if (held) return { status: "pending", message: `${w.kind} ${w.name} is held (partition/paused); its wave has not been released`, evidence };
      if (!st.done) return { status: "pending", message: `${w.kind} ${w.name}: ${st.reason}`, evidence };
      return { status: "pass", message: st.reason, evidence };
    },
  };
}
