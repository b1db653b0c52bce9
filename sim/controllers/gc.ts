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
  // Events own nothing and are never owned, so they are left out of the (hot) scan.
  const types = RESOURCE_TYPES.filter((t) => t !== T.events);
  for (const t of types) for (const o of store.peek(t)) uids.add(o.metadata.uid);
  const terminatingNs = new Set<string>();
  for (const n of store.peek(T.namespaces)) if (n.metadata.deletionTimestamp) terminatingNs.add(n.metadata.name);
  const doomed: { t: (typeof types)[number]; ns?: string; name: string }[] = [];
  for (const t of terminatingNs.size > 0 ? RESOURCE_TYPES : types) {
    if (t === T.namespaces) continue;
    for (const o of store.peek(t)) {
      const owner = o.metadata.ownerReferences?.find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];
      const orphaned = owner !== undefined && !uids.has(owner.uid);
      const nsGone = t.namespaced && terminatingNs.has(o.metadata.namespace ?? "");
      if (orphaned || nsGone) doomed.push({ t, ...(o.metadata.namespace ? { ns: o.metadata.namespace } : {}), name: o.metadata.name });
    }
  }
  for (const d of doomed) {
    const o = store.get(d.t, d.ns, d.name);
    if (!o) continue;
    if (d.t === T.pods) deletePodGracefully(ctx, o);
    else store.remove(d.t, d.ns, d.name);
  }
  for (const ns of terminatingNs) {
    const left = RESOURCE_TYPES.some((t) => t.namespaced && store.list(t, ns).length > 0);
    if (!left) store.remove(T.namespaces, undefined, ns);
  }
}
