// Rollout check, built from the same kube/ pieces as the lead's rollout gate (rolloutStatus,
// newRevisionPods, checkPods) rather than a second implementation. The difference is patience:
// a rollout that is not done but has no failing pod is "pending" and retried, so a slow but
// healthy rollout is not failed early; CrashLoopBackOff, image-pull errors and pods Running but
// not Ready past their grace period fail at once.
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { NOT_READY_AFTER_MS } from "../defaults.js";
import { checkPods, isHeld, newRevisionPods, rolloutStatus } from "../kube/index.js";
import { workloadsInScope, type Workload } from "./scope.js";
import type { Check, VerifyContext } from "./types.js";

export function rolloutChecks(ctx: VerifyContext): Check[] {
  return workloadsInScope(ctx.names, ctx.phase, ctx.wave).map((w) => rolloutCheck(ctx, w));
}

function rolloutCheck(ctx: VerifyContext, w: Workload): Check {
  const ns = ctx.names.namespace;
  const grace = ctx.notReadyAfterMs ?? NOT_READY_AFTER_MS[w.component === "worker" ? "pool" : w.component];
  return {
    name: `rollout:${w.kind}/${w.name}`,
    async run() {
      const obj: V1StatefulSet | V1Deployment = w.kind === "StatefulSet" ? await ctx.kube.api.getStatefulSet(ns, w.name) : await ctx.kube.api.getDeployment(ns, w.name);
      const st = rolloutStatus(obj, w.kind);
      const { revision, pods } = await newRevisionPods(ctx.kube.api, ns, obj, w.kind);
      const failing = checkPods(pods, { now: Date.now(), notReadyAfterMs: grace });
      const held = w.kind === "StatefulSet" ? isHeld(obj as V1StatefulSet) : (obj as V1Deployment).spec?.paused === true;
      const evidence = { done: st.done, held, ...(revision ? { revision } : {}), newPods: pods.length, ...(failing.length ? { pods: failing } : {}) };
      if (failing.length > 0) {
        const f = failing[0]!;
        return { status: "fail", message: `${w.kind} ${w.name}: pod ${f.pod} ${f.reason}${f.message ? ` (${f.message})` : ""}${failing.length > 1 ? ` and ${failing.length - 1} more` : ""}`, evidence };
      }
      if (held) return { status: "pending", message: `${w.kind} ${w.name} is held (partition/paused); its wave has not been released`, evidence };
      if (!st.done) return { status: "pending", message: `${w.kind} ${w.name}: ${st.reason}`, evidence };
      return { status: "pass", message: st.reason, evidence };
    },
  };
}
