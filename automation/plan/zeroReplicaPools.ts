/**
 * Pools running 0 workers when a run froze KEDA. Pure. Such a pool's rollout replaces nothing, so
 * by itself no gate would ever see the new version on it: `rollout.zeroReplicaPools` decides
 * whether its wave probes it with one worker or the run reports it unverified.
 */
import type { ZeroReplicaPolicy } from "../../infra/config/configSchema.js";
import type { HoldRecord, KedaFreezeRecord } from "../kube/index.js";
import type { ReleaseNames } from "../../core/workloads.js";

export interface ZeroReplicaPool {
  pool: string;
  statefulSet: string;
  /** Its ScaledObject, when this run froze one for it. */
  scaledObject?: string;
}

export const ZERO_REPLICA_STATUSES = ["verified", "failed", "unverified", "not-reached"] as const;

export interface ZeroReplicaPoolReport {
  pool: string;
  policy: ZeroReplicaPolicy;
  /**
   * verified: probed with one worker of the new version, which passed the wave's gates; failed: the
   * probe failed its wave (the run reverted); unverified: left at zero (policy report); not-reached:
   * the run ended before the pool's wave.
   */
  status: (typeof ZERO_REPLICA_STATUSES)[number];
}

/** The pools whose StatefulSet was at 0 replicas when held (KEDA frozen by then, so the count stays). */
export function zeroReplicaPools(names: ReleaseNames, holds: HoldRecord, freeze?: KedaFreezeRecord): ZeroReplicaPool[] {
  return Object.entries(names.statefulSets).flatMap(([pool, statefulSet]) => {
    const held = holds.statefulSets.find((s) => s.name === statefulSet);
    if (held?.replicas !== 0) return [];
    const so = freeze?.entries.find((e) => e.target.kind === "StatefulSet" && e.target.name === statefulSet);
    return [{ pool, statefulSet, ...(so ? { scaledObject: so.name } : {}) }];
  });
}

export function unverifiedPools(reports: readonly ZeroReplicaPoolReport[]): string[] {
  return reports.filter((r) => r.status === "unverified").map((r) => r.pool);
}
