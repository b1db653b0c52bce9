import type { Json, KObject, OwnerReference } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";

/** Helpers shared by the workload controllers (Deployment, ReplicaSet, StatefulSet). */

export function ownerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(o: KObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

export function ownedBy(objs: KObject[], owner: KObject): KObject[] {
  return objs.filter((o) => controllerOf(o)?.uid === owner.metadata.uid);
}

export function isTerminating(p: KObject): boolean {
  return p.metadata.deletionTimestamp !== undefined;
}

export function podCondition(p: KObject, type: string): Json | undefined {
  return (p.status?.conditions ?? []).find((c: Json) => c.type === type);
}

export function isPodReady(p: KObject): boolean {
  return !isTerminating(p) && p.status?.phase === "Running" && podCondition(p, "Ready")?.status === "True";
}

/** Builds a pod from a template; the kubelet simulation fills in status. */
export function podFromTemplate(
  template: Json,
  opts: { name: string; namespace: string; owner: KObject; labels?: Record<string, string>; hostname?: string; subdomain?: string },
): KObject {
  const spec = structuredClone(template?.spec ?? {});
  if (opts.hostname) spec.hostname = opts.hostname;
  if (opts.subdomain) spec.subdomain = opts.subdomain;
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= "default-scheduler";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      labels: { ...(template?.metadata?.labels ?? {}), ...(opts.labels ?? {}) },
      annotations: { ...(template?.metadata?.annotations ?? {}) },
      ownerReferences: [ownerRef(opts.owner)],
    } as KObject["metadata"],
    spec,
    status: { phase: "Pending" },
  };
}

/**
 * Starts graceful deletion, as `DELETE pod` does: the pod turns Terminating, stops being Ready,
 * and the kubelet simulation removes it after `podTerminateMs`. Zero grace removes it at once.
 */
export function deletePodGracefully(ctx: SimContext, pod: KObject, graceSeconds?: number): KObject {
  const { store } = ctx;
  if (isTerminating(pod)) return pod;
  if (graceSeconds === 0 || ctx.timings.podTerminateMs <= 0) {
    ctx.events.record(pod, "Normal", "Killing", `Stopping container ${firstContainerName(pod)}`);
    return store.remove(T.pods, pod.metadata.namespace, pod.metadata.name);
  }
  const grace = graceSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  const ts = new Date(ctx.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  ctx.events.record(pod, "Normal", "Killing", `Stopping container ${firstContainerName(pod)}`);
  return store.markDeleting(T.pods, pod.metadata.namespace, pod.metadata.name, ts, grace);
}

function firstContainerName(pod: KObject): string {
  return pod.spec?.containers?.[0]?.name ?? "main";
}

/** Parses an int-or-percent (maxSurge, maxUnavailable) against a replica count. */
export function intOrPercent(v: Json, total: number, roundUp: boolean, dflt: string): number {
  const raw = v ?? dflt;
  if (typeof raw === "number") return raw;
  const m = /^(\d+)%$/.exec(String(raw));
  if (!m) return Number(raw) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function isoNow(ctx: SimContext): string {
  return new Date(ctx.now()).toISOString().replace(/\.\d+Z$/, "Z");
}
