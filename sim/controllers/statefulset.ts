import type { Json, KObject } from "../store.js";
import { safeHash, stableStringify } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";
import { deletePodGracefully, isPodReady, isTerminating, ownedBy, ownerRef, podFromTemplate } from "./workload.js";

export const REVISION_LABEL = "controller-revision-hash";

export function revisionName(sts: KObject): string {
  return `${sts.metadata.name}-${safeHash(stableStringify(sts.spec?.template ?? {}), 10)}`;
}

function ordinalOf(sts: KObject, pod: KObject): number {
  const prefix = `${sts.metadata.name}-`;
  const rest = pod.metadata.name.startsWith(prefix) ? pod.metadata.name.slice(prefix.length) : "";
  return /^\d+$/.test(rest) ? Number(rest) : -1;
}

function podRevision(pod: KObject): string | undefined {
  return pod.metadata.labels?.[REVISION_LABEL];
}

/**
 * StatefulSet controller, modelled on the legacy (pre-MaxUnavailableStatefulSet) code path:
 * 1. create/repair pods for ordinals below `replicas` (OrderedReady: one at a time and stop at the
 *    first pod that is not Running+Ready; Parallel: all at once, never blocking);
 * 2. remove ordinals >= replicas (highest first);
 * 3. RollingUpdate: from the highest ordinal down to `partition`, delete the first pod not on the
 *    update revision, or wait if an updated pod is not healthy. One pod per pass.
 * Because step 1 blocks on unhealthy pods only under OrderedReady, a reverted template heals a
 * Parallel set by itself but leaves an OrderedReady set stuck (kubernetes#67250).
 */
export class StatefulSetController {
  constructor(private readonly ctx: SimContext) {}

  reconcile(): void {
    for (const sts of this.ctx.store.list(T.statefulsets)) {
      if (sts.metadata.deletionTimestamp) continue;
      this.reconcileOne(sts);
    }
  }

  /** Ensures a ControllerRevision for the current template and returns the templates by revision name. */
  private revisions(sts: KObject, updateRevision: string): Map<string, Json> {
    const { store } = this.ctx;
    const ns = sts.metadata.namespace!;
    let revs = ownedBy(store.list(T.controllerrevisions, ns), sts);
    const maxRev = revs.reduce((m, r) => Math.max(m, Number(r.revision ?? 0)), 0);
    const existing = revs.find((r) => r.metadata.name === updateRevision);
    if (!existing) {
      const created = store.create(T.controllerrevisions, {
        apiVersion: "apps/v1",
        kind: "ControllerRevision",
        metadata: {
          name: updateRevision,
          namespace: ns,
          labels: { ...(sts.spec?.selector?.matchLabels ?? {}), [REVISION_LABEL]: updateRevision },
          ownerReferences: [ownerRef(sts)],
        } as KObject["metadata"],
        data: { spec: { template: { ...structuredClone(sts.spec.template), $patch: "replace" } } },
        revision: maxRev + 1,
      });
      revs = [...revs, created];
    } else if (Number(existing.revision ?? 0) < maxRev) {
      // Reverting to an earlier template re-labels its revision as the newest, as the real controller does.
      const next = { ...existing, revision: maxRev + 1, metadata: { ...existing.metadata, resourceVersion: "" } };
      revs = revs.map((r) => (r.metadata.uid === existing.metadata.uid ? store.update(T.controllerrevisions, next) : r));
    }
    this.pruneRevisions(sts, revs, updateRevision);
    const out = new Map<string, Json>();
    for (const r of revs) {
      const { $patch: _p, ...template } = r.data?.spec?.template ?? {};
      out.set(r.metadata.name, template);
    }
    return out;
  }

  private pruneRevisions(sts: KObject, revs: KObject[], updateRevision: string): void {
    const limit: number = sts.spec?.revisionHistoryLimit ?? 10;
    const live = new Set([updateRevision, sts.status?.currentRevision]);
    for (const p of ownedBy(this.ctx.store.list(T.pods, sts.metadata.namespace), sts)) live.add(podRevision(p));
    const removable = revs.filter((r) => !live.has(r.metadata.name)).sort((a, b) => Number(a.revision) - Number(b.revision));
    for (const r of removable.slice(0, Math.max(0, removable.length - limit))) {
      this.ctx.store.remove(T.controllerrevisions, r.metadata.namespace, r.metadata.name);
    }
  }

  private createPod(sts: KObject, ordinal: number, revision: string, template: Json): KObject {
    const name = `${sts.metadata.name}-${ordinal}`;
    const pod = this.ctx.store.create(
      T.pods,
      podFromTemplate(template, {
        name,
        namespace: sts.metadata.namespace!,
        owner: sts,
        hostname: name,
        ...(sts.spec?.serviceName ? { subdomain: sts.spec.serviceName } : {}),
        labels: {
          [REVISION_LABEL]: revision,
          "statefulset.kubernetes.io/pod-name": name,
          "apps.kubernetes.io/pod-index": String(ordinal),
        },
      }),
    );
    this.ctx.events.record(sts, "Normal", "SuccessfulCreate", `create Pod ${name} in StatefulSet ${sts.metadata.name} successful`);
    return pod;
  }

  private deletePod(sts: KObject, pod: KObject): void {
    deletePodGracefully(this.ctx, pod);
    this.ctx.events.record(sts, "Normal", "SuccessfulDelete", `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
  }

  private reconcileOne(sts: KObject): void {
    const { store } = this.ctx;
    const updateRevision = revisionName(sts);
    const templates = this.revisions(sts, updateRevision);
    const currentRevision: string = sts.status?.currentRevision || updateRevision;
    const replicas: number = sts.spec?.replicas ?? 1;
    const monotonic = sts.spec?.podManagementPolicy !== "Parallel";
    const rolling = (sts.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    const partition: number = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const pods = ownedBy(store.list(T.pods, sts.metadata.namespace), sts);
    const byOrdinal = new Map<number, KObject>();
    for (const p of pods) byOrdinal.set(ordinalOf(sts, p), p);

    this.sync(sts, byOrdinal, { replicas, monotonic, rolling, partition, currentRevision, updateRevision, templates });
    this.writeStatus(sts, currentRevision, updateRevision, rolling);
  }

  private sync(
    sts: KObject,
    byOrdinal: Map<number, KObject>,
    o: { replicas: number; monotonic: boolean; rolling: boolean; partition: number; currentRevision: string; updateRevision: string; templates: Map<string, Json> },
  ): void {
    // 1. Ordinals that should exist.
    for (let ord = 0; ord < o.replicas; ord++) {
      const pod = byOrdinal.get(ord);
      if (!pod) {
        // New pods below the partition keep the current revision; the rest get the update revision.
        const useCurrent = o.rolling && ord < o.partition && o.templates.has(o.currentRevision);
        const revision = useCurrent ? o.currentRevision : o.updateRevision;
        const created = this.createPod(sts, ord, revision, o.templates.get(revision) ?? sts.spec.template);
        byOrdinal.set(ord, created);
        if (o.monotonic) return;
        continue;
      }
      if (pod.status?.phase === "Failed" && !isTerminating(pod)) {
        this.deletePod(sts, pod);
        if (o.monotonic) return;
        continue;
      }
      if (isTerminating(pod) && o.monotonic) return;
      if (o.monotonic && !isPodReady(pod)) return;
    }
    // 2. Ordinals past `replicas`, highest first.
    const condemned = [...byOrdinal.entries()].filter(([ord]) => ord >= o.replicas || ord < 0).sort(([a], [b]) => b - a);
    for (const [, pod] of condemned) {
      if (isTerminating(pod)) {
        if (o.monotonic) return;
        continue;
      }
      this.deletePod(sts, pod);
      if (o.monotonic) return;
    }
    // 3. Rolling update, one pod at a time, reverse ordinal order.
    if (!o.rolling) return;
    for (let ord = o.replicas - 1; ord >= o.partition; ord--) {
      const pod = byOrdinal.get(ord);
      if (!pod) return;
      if (podRevision(pod) !== o.updateRevision && !isTerminating(pod)) {
        this.deletePod(sts, pod);
        return;
      }
      if (!isPodReady(pod)) return;
    }
  }

  private writeStatus(sts: KObject, currentRevisionIn: string, updateRevision: string, rolling: boolean): void {
    const { store } = this.ctx;
    const pods = ownedBy(store.list(T.pods, sts.metadata.namespace), sts);
    const live = pods.filter((p) => !isTerminating(p));
    const ready = pods.filter(isPodReady).length;
    let currentRevision = currentRevisionIn;
    let currentReplicas = live.filter((p) => podRevision(p) === currentRevision).length;
    const updatedReplicas = live.filter((p) => podRevision(p) === updateRevision).length;
    // The rollout is complete once every pod runs the update revision and is ready.
    if (rolling && updatedReplicas === pods.length && ready === pods.length) {
      currentRevision = updateRevision;
      currentReplicas = updatedReplicas;
    }
    const status: Json = {
      observedGeneration: sts.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas,
      updatedReplicas,
      currentRevision,
      updateRevision,
      collisionCount: 0,
      availableReplicas: ready,
    };
    for (const k of ["readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"]) if (status[k] === 0) delete status[k];
    if (stableStringify(status) !== stableStringify(sts.status ?? {})) {
      store.update(T.statefulsets, { ...sts, status, metadata: { ...sts.metadata, resourceVersion: "" } }, "status");
    }
  }
}
