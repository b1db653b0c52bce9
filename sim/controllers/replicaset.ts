import type { KObject } from "../store.js";
import { randomSuffix, stableStringify } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";
import { deletePodGracefully, isPodReady, isTerminating, ownedBy, podFromTemplate } from "./workload.js";

/** Pods to remove first when scaling down: unscheduled, then not running, then not ready, then newest. */
function deletionRank(p: KObject): number {
  if (!p.spec?.nodeName) return 0;
  if (p.status?.phase !== "Running") return 1;
  if (!isPodReady(p)) return 2;
  return 3;
}

/** ReplicaSet controller: keeps `spec.replicas` pods from the template and reports their readiness. */
export function reconcileReplicaSets(ctx: SimContext): void {
  const { store } = ctx;
  const allPods = store.list(T.pods);
  for (const rs of store.list(T.replicasets)) {
    if (rs.metadata.deletionTimestamp) continue;
    const pods = ownedBy(allPods, rs);
    const active = pods.filter((p) => !isTerminating(p));
    const want = rs.spec?.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        const name = `${rs.metadata.name}-${randomSuffix(5)}`;
        const pod = store.create(T.pods, podFromTemplate(rs.spec.template, { name, namespace: rs.metadata.namespace!, owner: rs }));
        active.push(pod);
        ctx.events.record(rs, "Normal", "SuccessfulCreate", `Created pod: ${name}`);
      }
    } else if (active.length > want) {
      const victims = [...active]
        .sort((a, b) => deletionRank(a) - deletionRank(b) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp))
        .slice(0, active.length - want);
      for (const v of victims) {
        deletePodGracefully(ctx, v);
        ctx.events.record(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${v.metadata.name}`);
      }
    }
    const current = ownedBy(store.list(T.pods, rs.metadata.namespace), rs).filter((p) => !isTerminating(p));
    const ready = current.filter(isPodReady).length;
    const status = {
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    };
    if (stableStringify(status) !== stableStringify(rs.status ?? {})) {
      store.update(T.replicasets, { ...rs, status, metadata: { ...rs.metadata, resourceVersion: "" } }, "status");
    }
  }
}
