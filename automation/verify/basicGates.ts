// Snapshot checks of the engine's own: every workload rolled out with no failing pod and no
// hold left behind (preflight), the release's workloads, and the version SIE reports for a tag.
// The verification suite (index.ts) runs everything else.
import type { GateResult } from "../types.js";
import type { KubeClient } from "../kube/index.js";
import { checkPods, rolloutStatus, newRevisionPods } from "../kube/index.js";
import type { ReleaseNames } from "../actions/context.js";

async function timed(name: string, fn: () => Promise<Omit<GateResult, "name" | "durationMs">>): Promise<GateResult> {
  const start = Date.now();
  try {
    return { name, ...(await fn()), durationMs: Date.now() - start };
  } catch (err) {
    return { name, status: "fail", message: (err as Error).message, evidence: {}, durationMs: Date.now() - start };
  }
}

export function workloads(names: ReleaseNames, pools?: readonly string[]): { kind: "StatefulSet" | "Deployment"; name: string }[] {
  const sts = Object.entries(names.statefulSets)
    .filter(([pool]) => pools === undefined || pools.includes(pool))
    .map(([, name]) => ({ kind: "StatefulSet" as const, name }));
  return [...sts, { kind: "Deployment", name: names.gatewayDeployment }, { kind: "Deployment", name: names.configDeployment }];
}

/** Every workload fully rolled out with no failing pod (no waiting: a snapshot of now). */
export async function rolloutGates(kube: KubeClient, names: ReleaseNames): Promise<GateResult[]> {
  return Promise.all(
    workloads(names).map((w) =>
      timed(`rollout:${w.kind}/${w.name}`, async () => {
        const obj = w.kind === "StatefulSet" ? await kube.api.getStatefulSet(names.namespace, w.name) : await kube.api.getDeployment(names.namespace, w.name);
        const st = rolloutStatus(obj, w.kind);
        const { pods } = await newRevisionPods(kube.api, names.namespace, obj, w.kind);
        const failing = checkPods(pods, { now: Date.now(), notReadyAfterMs: 0 });
        const spec = obj.spec as { updateStrategy?: { rollingUpdate?: { partition?: number } }; paused?: boolean } | undefined;
        const held = w.kind === "StatefulSet" ? (spec?.updateStrategy?.rollingUpdate?.partition ?? 0) > 0 : spec?.paused === true;
        const ok = st.done && failing.length === 0 && !held;
        return {
          status: ok ? "pass" : "fail",
          message: held ? `${w.kind} ${w.name} is held (partition/paused) by an unfinished run` : st.reason,
          evidence: { done: st.done, held, ...(failing.length ? { pods: failing } : {}) },
        };
      }),
    ),
  );
}

/** "v0.3.2-errors10" → "0.3.2": what SIE reports in X-SIE-Server-Version. */
export function serverVersion(tag: string): string {
  return tag.replace(/^v/, "");
}
