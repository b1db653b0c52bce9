/**
 * Pods of a workload, by revision. StatefulSet pods carry `controller-revision-hash`; Deployment
 * pods carry the `pod-template-hash` of their ReplicaSet, and the newest ReplicaSet is the one
 * with the highest `deployment.kubernetes.io/revision`.
 *
 * `deleteStuckPods` exists because a StatefulSet does not always replace pods stuck on a failed
 * revision after the template is reverted (kubernetes/kubernetes#67250; with OrderedReady always,
 * with Parallel when MaxUnavailableStatefulSet is on). Deleting them lets the controller recreate
 * them at the reverted revision.
 *
 * DaemonSet pods carry `controller-revision-hash` too, but the DaemonSet's status does not name
 * its newest revision (that takes ControllerRevisions, one more permission); its pods of the new
 * template are found by their images instead, which is what a pre-pull DaemonSet changes.
 */
import type { V1DaemonSet, V1Deployment, V1Pod, V1PodSpec, V1ReplicaSet, V1StatefulSet } from "@kubernetes/client-node";
import { isConflict, isNotFound, selectorString, type KubeApi } from "./api.js";
import { isPodReady, podRevision } from "./podHealth.js";

export async function statefulSetPods(kube: KubeApi, namespace: string, sts: V1StatefulSet): Promise<V1Pod[]> {
  const pods = await kube.listPods(namespace, selectorString(sts.spec?.selector));
  const name = sts.metadata?.name;
  // The selector may match pods of other pools if labels are shared; ownership decides.
  return pods.filter((p) => {
    const owners = p.metadata?.ownerReferences;
    return !owners || owners.length === 0 || owners.some((o) => o.kind === "StatefulSet" && o.name === name);
  });
}

export interface RevisionPods {
  /** The revision new pods are created at, if known. */
  revision: string | undefined;
  /** Pods at that revision. */
  pods: V1Pod[];
}

/** Pods of the revision a rollout is moving to. */
export async function newRevisionPods(
  kube: KubeApi,
  namespace: string,
  obj: V1StatefulSet | V1Deployment | V1DaemonSet,
  kind: "StatefulSet" | "Deployment" | "DaemonSet",
): Promise<RevisionPods> {
  if (kind === "DaemonSet") return daemonSetTemplatePods(kube, namespace, obj as V1DaemonSet);
  if (kind === "StatefulSet") {
    const sts = obj as V1StatefulSet;
    const revision = sts.status?.updateRevision;
    const pods = await statefulSetPods(kube, namespace, sts);
    return { revision, pods: revision ? pods.filter((p) => podRevision(p) === revision) : [] };
  }
  const dep = obj as V1Deployment;
  const selector = selectorString(dep.spec?.selector);
  const [replicaSets, pods] = await Promise.all([kube.listReplicaSets(namespace, selector), kube.listPods(namespace, selector)]);
  const newest = newestReplicaSet(replicaSets, dep);
  const hash = newest?.metadata?.labels?.["pod-template-hash"];
  if (hash) return { revision: hash, pods: pods.filter((p) => p.metadata?.labels?.["pod-template-hash"] === hash) };
  // No ReplicaSets visible: fall back to pods whose images match the template.
  const images = (dep.spec?.template?.spec?.containers ?? []).map((c) => c.image).join(",");
  return { revision: undefined, pods: pods.filter((p) => (p.spec?.containers ?? []).map((c) => c.image).join(",") === images) };
}

/** Every image a pod spec runs, init containers first. */
function specImages(spec: V1PodSpec | undefined): string {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image).join(",");
}

async function daemonSetTemplatePods(kube: KubeApi, namespace: string, ds: V1DaemonSet): Promise<RevisionPods> {
  const pods = await kube.listPods(namespace, selectorString(ds.spec?.selector));
  const images = specImages(ds.spec?.template?.spec);
  const current = pods.filter(
    (p) => (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet" && o.name === ds.metadata?.name) && specImages(p.spec) === images,
  );
  return { revision: current.map(podRevision).find((r) => r !== undefined), pods: current };
}

/** The Deployment's ReplicaSet with the highest revision annotation. */
export function newestReplicaSet(replicaSets: readonly V1ReplicaSet[], dep: V1Deployment): V1ReplicaSet | undefined {
  const owned = replicaSets.filter((rs) => {
    const owners = rs.metadata?.ownerReferences;
    return !owners || owners.length === 0 || owners.some((o) => o.kind === "Deployment" && o.name === dep.metadata?.name);
  });
  const rev = (rs: V1ReplicaSet): number => Number(rs.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
  return [...owned].sort((a, b) => rev(b) - rev(a))[0];
}

export interface DeleteStuckPodsOptions {
  /** Only delete pods that are not Ready (default: every pod on the bad revision). */
  onlyNotReady?: boolean;
  /** Called with the pod names before deleting; journal them here. */
  beforeDelete?: (pods: string[]) => Promise<void> | void;
}

export interface DeleteStuckPodsResult {
  deleted: string[];
  /** Set when nothing was deleted on purpose. */
  skippedReason?: string;
}

/**
 * Deletes the StatefulSet's pods still on `badRevision` so they come back at the reverted one.
 * Refuses while the StatefulSet still targets `badRevision` (the template is not reverted yet):
 * deleted pods would only be recreated broken.
 */
export async function deleteStuckPods(
  kube: KubeApi,
  namespace: string,
  statefulSet: string,
  badRevision: string,
  opts: DeleteStuckPodsOptions = {},
): Promise<DeleteStuckPodsResult> {
  const sts = await kube.getStatefulSet(namespace, statefulSet);
  if (sts.status?.updateRevision === badRevision) {
    return { deleted: [], skippedReason: `statefulset ${statefulSet} still targets revision ${badRevision}; revert its template first` };
  }
  const pods = (await statefulSetPods(kube, namespace, sts)).filter((p) => podRevision(p) === badRevision && !(opts.onlyNotReady && isPodReady(p)));
  const uids = new Map(pods.map((p) => [p.metadata?.name ?? "", p.metadata?.uid]));
  const names = [...uids.keys()].filter(Boolean).sort();
  if (names.length === 0) return { deleted: [] };
  await opts.beforeDelete?.(names);
  const deleted: string[] = [];
  for (const name of names) {
    try {
      // Only the pod seen on the bad revision: by now the controller may have recreated it, at
      // the reverted revision, under the same name.
      await kube.deletePod(namespace, name, uids.get(name));
      deleted.push(name);
    } catch (err) {
      // Already gone or replaced (the controller or a person got there first): that is the goal.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
  return { deleted };
}
