/**
 * Holding workloads so one release update can be rolled out wave by wave.
 *
 * The release (one Helm/Pulumi update) changes every template at once. Before it, each worker
 * StatefulSet gets `rollingUpdate.partition = replicas` (the controller then updates no pod) and
 * the gateway/config Deployments get `spec.paused = true` (no new ReplicaSet rolls). After it,
 * waves lift the holds one group at a time. Prior values are recorded so `restoreHolds` can put
 * them back after success, revert or recovery.
 */
import type { V1StatefulSet } from "@kubernetes/client-node";
import { InternalError } from "../../core/errors.js";
import { isNotFound, type KubeApi } from "./api.js";

export interface StatefulSetHold {
  name: string;
  /** Replicas when held; the partition we set. */
  replicas: number;
  /** rollingUpdate.partition before the hold; null = unset (the API treats that as 0). */
  priorPartition: number | null;
}

export interface DeploymentHold {
  name: string;
  priorPaused: boolean;
}

export interface HoldRecord {
  namespace: string;
  statefulSets: StatefulSetHold[];
  deployments: DeploymentHold[];
}

export interface HoldTargets {
  statefulSets?: readonly string[];
  deployments?: readonly string[];
}

/** Reads what `applyHolds` will change; throws for a StatefulSet that cannot be held. */
export async function planHolds(kube: KubeApi, namespace: string, targets: HoldTargets): Promise<HoldRecord> {
  const record: HoldRecord = { namespace, statefulSets: [], deployments: [] };
  for (const name of targets.statefulSets ?? []) {
    const sts = await kube.getStatefulSet(namespace, name);
    assertRollingUpdate(namespace, sts);
    record.statefulSets.push({
      name,
      replicas: sts.spec?.replicas ?? 1,
      priorPartition: sts.spec?.updateStrategy?.rollingUpdate?.partition ?? null,
    });
  }
  for (const name of targets.deployments ?? []) {
    const dep = await kube.getDeployment(namespace, name);
    record.deployments.push({ name, priorPaused: dep.spec?.paused ?? false });
  }
  return record;
}

export async function applyHolds(kube: KubeApi, record: HoldRecord): Promise<void> {
  for (const s of record.statefulSets) {
    await kube.mergePatchStatefulSet(record.namespace, s.name, partitionPatch(s.replicas));
  }
  for (const d of record.deployments) {
    await kube.mergePatchDeployment(record.namespace, d.name, { spec: { paused: true } });
  }
}

/** Lets a wave roll: partition 0 for its StatefulSets, unpause its Deployments. */
export async function releaseWave(kube: KubeApi, namespace: string, targets: HoldTargets): Promise<void> {
  for (const name of targets.statefulSets ?? []) {
    await kube.mergePatchStatefulSet(namespace, name, partitionPatch(0));
  }
  for (const name of targets.deployments ?? []) {
    await kube.mergePatchDeployment(namespace, name, { spec: { paused: false } });
  }
}

export interface RestoreResult {
  restored: string[];
  missing: string[];
}

/**
 * Puts partitions and paused flags back to their values before the hold. Idempotent. Objects that
 * disappeared meanwhile are reported, not fatal.
 */
export async function restoreHolds(kube: KubeApi, record: HoldRecord): Promise<RestoreResult> {
  const result: RestoreResult = { restored: [], missing: [] };
  const attempt = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      result.restored.push(label);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.missing.push(label);
    }
  };
  for (const s of record.statefulSets) {
    // null removes the field; the apiserver defaults it to 0.
    await attempt(`StatefulSet/${s.name}`, () => kube.mergePatchStatefulSet(record.namespace, s.name, partitionPatch(s.priorPartition)));
  }
  for (const d of record.deployments) {
    await attempt(`Deployment/${d.name}`, () => kube.mergePatchDeployment(record.namespace, d.name, { spec: { paused: d.priorPaused } }));
  }
  return result;
}

function partitionPatch(partition: number | null): object {
  return { spec: { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition } } } };
}

function assertRollingUpdate(namespace: string, sts: V1StatefulSet): void {
  const type = sts.spec?.updateStrategy?.type ?? "RollingUpdate";
  if (type !== "RollingUpdate") {
    throw new InternalError(
      `statefulset ${namespace}/${sts.metadata?.name ?? "?"} uses updateStrategy ${type}; waves need RollingUpdate (the sie-cluster chart default) — remove the override and re-run`,
    );
  }
}
