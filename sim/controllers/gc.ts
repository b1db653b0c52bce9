import type { SimContext } from "../context.js";
import { RESOURCE_TYPES, T } from "../resources.js";
import { deletePodGracefully } from "./workload.js";

/**
 * Garbage collector: removes objects whose controller owner is gone (Deployment → ReplicaSets →
 * pods, StatefulSet → pods/ControllerRevisions), and empties namespaces being deleted.
 * Pods go through graceful termination like any other pod delete.
 */
export function collectGarbage(ctx: SimContext): void {
  const { store } = ctx;
  const uids = new Set<string>();
  for (const t of RESOURCE_TYPES) for (const o of store.list(t)) uids.add(o.metadata.uid);
  const terminatingNs = new Set(store.list(T.namespaces).filter((n) => n.metadata.deletionTimestamp).map((n) => n.metadata.name));
  for (const t of RESOURCE_TYPES) {
    if (t === T.namespaces) continue;
    for (const o of store.list(t)) {
      const owner = o.metadata.ownerReferences?.find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];
      const orphaned = owner !== undefined && !uids.has(owner.uid);
      const nsGone = t.namespaced && terminatingNs.has(o.metadata.namespace ?? "");
      if (!orphaned && !nsGone) continue;
      if (t === T.pods) deletePodGracefully(ctx, o);
      else store.remove(t, o.metadata.namespace, o.metadata.name);
    }
  }
  for (const ns of terminatingNs) {
    const left = RESOURCE_TYPES.some((t) => t.namespaced && store.list(t, ns).length > 0);
    if (!left) store.remove(T.namespaces, undefined, ns);
  }
}
