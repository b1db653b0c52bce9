/**
 * Rollout completion, decided the way `kubectl rollout status` decides it (its polymorphic
 * status viewers), so "done" here means what operators already trust. Pure.
 *
 * One difference on purpose: a paused Deployment is reported as not done (kubectl would wait
 * forever without saying why), because this engine pauses Deployments itself.
 */
import type { V1DaemonSet, V1Deployment, V1StatefulSet } from "@kubernetes/client-node";

export interface RolloutStatus {
  done: boolean;
  /** Why it is (not) done, with the counts that decided it. */
  reason: string;
  /** The rollout cannot complete by waiting (progress deadline exceeded, OnDelete strategy). */
  error?: boolean;
}

export type WorkloadKind = "StatefulSet" | "Deployment" | "DaemonSet";

export type RolloutObject = V1StatefulSet | V1Deployment | V1DaemonSet;

export function rolloutStatus(obj: RolloutObject, kind?: WorkloadKind): RolloutStatus {
  const k = kind ?? (obj.kind as WorkloadKind | undefined);
  if (k === "StatefulSet") return statefulSetRolloutStatus(obj as V1StatefulSet);
  if (k === "Deployment") return deploymentRolloutStatus(obj as V1Deployment);
  if (k === "DaemonSet") return daemonSetRolloutStatus(obj as V1DaemonSet);
  throw new TypeError(`rolloutStatus: unsupported kind ${JSON.stringify(k)}; pass "StatefulSet", "Deployment" or "DaemonSet"`);
}

/** A DaemonSet is rolled out when every node it should run on has an updated, available pod. */
export function daemonSetRolloutStatus(ds: V1DaemonSet): RolloutStatus {
  const name = ds.metadata?.name ?? "?";
  const strategy = ds.spec?.updateStrategy?.type ?? "RollingUpdate";
  if (strategy !== "RollingUpdate") {
    return { done: false, error: true, reason: `daemonset ${name} uses updateStrategy ${strategy}; only RollingUpdate can be followed` };
  }
  const generation = ds.metadata?.generation ?? 0;
  const observed = ds.status?.observedGeneration ?? 0;
  if (generation > observed) {
    return { done: false, reason: `daemonset ${name}: waiting for the controller to observe generation ${generation} (observed ${observed})` };
  }
  const want = ds.status?.desiredNumberScheduled ?? 0;
  const updated = ds.status?.updatedNumberScheduled ?? 0;
  const available = ds.status?.numberAvailable ?? 0;
  if (updated < want) return { done: false, reason: `daemonset ${name}: ${updated} of ${want} nodes run the new template` };
  if (available < want) return { done: false, reason: `daemonset ${name}: ${available} of ${want} updated pods available` };
  return { done: true, reason: `daemonset ${name} rolled out (${want} node(s))` };
}

export function deploymentRolloutStatus(dep: V1Deployment): RolloutStatus {
  const name = dep.metadata?.name ?? "?";
  const generation = dep.metadata?.generation ?? 0;
  const status = dep.status ?? {};
  const observed = status.observedGeneration ?? 0;
  if (generation > observed) {
    return { done: false, reason: `deployment ${name}: waiting for the controller to observe generation ${generation} (observed ${observed})` };
  }
  const progressing = status.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return { done: false, error: true, reason: `deployment ${name} exceeded its progress deadline: ${progressing.message ?? "no progress"}` };
  }
  if (dep.spec?.paused) {
    return { done: false, reason: `deployment ${name} is paused` };
  }
  const want = dep.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < want) {
    return { done: false, reason: `deployment ${name}: ${updated} of ${want} replicas run the new template` };
  }
  if (total > updated) {
    return { done: false, reason: `deployment ${name}: ${total - updated} old replica(s) still terminating` };
  }
  if (available < updated) {
    return { done: false, reason: `deployment ${name}: ${available} of ${updated} updated replicas available` };
  }
  return { done: true, reason: `deployment ${name} rolled out (${updated} replicas)` };
}

export function statefulSetRolloutStatus(sts: V1StatefulSet): RolloutStatus {
  const name = sts.metadata?.name ?? "?";
  const strategy = sts.spec?.updateStrategy?.type ?? "RollingUpdate";
  if (strategy !== "RollingUpdate") {
    return { done: false, error: true, reason: `statefulset ${name} uses updateStrategy ${strategy}; only RollingUpdate can be followed` };
  }
  const generation = sts.metadata?.generation ?? 0;
  const status = sts.status;
  const observed = status?.observedGeneration ?? 0;
  if (observed === 0 || generation > observed) {
    return { done: false, reason: `statefulset ${name}: waiting for the controller to observe generation ${generation} (observed ${observed})` };
  }
  const want = sts.spec?.replicas ?? 1;
  const ready = status?.readyReplicas ?? 0;
  if (ready < want) {
    return { done: false, reason: `statefulset ${name}: ${ready} of ${want} pods ready` };
  }
  const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition;
  if (sts.spec?.updateStrategy?.rollingUpdate && partition !== undefined && partition !== null) {
    const needed = want - partition;
    const updated = status?.updatedReplicas ?? 0;
    if (updated < needed) {
      return { done: false, reason: `statefulset ${name}: ${updated} of ${needed} pods updated (partition ${partition})` };
    }
    return { done: true, reason: `statefulset ${name}: partitioned rollout complete, ${updated} pod(s) updated (partition ${partition})` };
  }
  if (status?.updateRevision !== status?.currentRevision) {
    return {
      done: false,
      reason: `statefulset ${name}: ${status?.updatedReplicas ?? 0} of ${want} pods at revision ${status?.updateRevision ?? "?"}`,
    };
  }
  return { done: true, reason: `statefulset ${name} rolled out: ${want} pod(s) at revision ${status?.currentRevision ?? "?"}` };
}

/*
 * Two questions about a StatefulSet's partition, asked by different callers, so two names:
 * - `isHeld`: is every pod kept at the old revision? That is the hold this engine applies
 *   (kube/holds.ts sets partition = replicas) until a wave is released; the verification suite
 *   reports such a workload as pending (not rolled yet), not as failing.
 * - `hasPartition`: is any pod kept back? A finished run leaves partition 0 everywhere, so any
 *   partition before an upgrade was left by a run that did not finish (or set by hand), and
 *   preflight refuses to upgrade on top of it.
 * A partition between 0 and replicas is partitioned but not held: the pods above it roll, and
 * `statefulSetRolloutStatus` judges those.
 */

/** Every pod is kept at the old revision on purpose: a partition at or above replicas updates none. */
export function isHeld(sts: V1StatefulSet): boolean {
  const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  return partition > 0 && partition >= (sts.spec?.replicas ?? 1);
}

/** Some pods may be kept at the old revision: any partition above 0. */
export function hasPartition(sts: V1StatefulSet): boolean {
  return (sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) > 0;
}
