import type { KObject } from "../../sim/store.js";

/** kubectl's rollout-status rules (facts sheet §5), used to check the sim's status fields. */
export function deploymentRolloutDone(d: KObject): boolean | "deadline" {
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return false;
  const prog = (s.conditions ?? []).find((c: { type: string }) => c.type === "Progressing");
  if (prog?.reason === "ProgressDeadlineExceeded") return "deadline";
  const replicas = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  return updated >= replicas && (s.replicas ?? 0) <= updated && (s.availableReplicas ?? 0) >= updated;
}

export function statefulSetRolloutDone(sts: KObject): boolean {
  const s = sts.status ?? {};
  if (sts.spec?.updateStrategy?.type !== "RollingUpdate") throw new Error("rollout status only supports RollingUpdate");
  if (!s.observedGeneration || (sts.metadata.generation ?? 0) > s.observedGeneration) return false;
  const replicas = sts.spec?.replicas ?? 1;
  if ((s.readyReplicas ?? 0) < replicas) return false;
  const ru = sts.spec.updateStrategy.rollingUpdate;
  if (ru) return (s.updatedReplicas ?? 0) >= replicas - (ru.partition ?? 0);
  return s.updateRevision === s.currentRevision;
}
