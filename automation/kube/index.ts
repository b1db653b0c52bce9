export { KubeClient, type KubeClientOptions } from "./client.js";
export {
  KubeApi,
  MERGE_PATCH,
  isConflict,
  isNotFound,
  loadKubeConfig,
  selectorString,
  type CustomObjectRef,
  type KubeConfigSource,
  type KubeObjectLike,
} from "./api.js";
export {
  SCALED_OBJECTS,
  applyKedaFreeze,
  pauseAnnotations,
  planKedaFreeze,
  thawKeda,
  type KedaFreezeEntry,
  type KedaFreezeRecord,
  type ThawResult,
} from "./keda.js";
export {
  describeScaledObject,
  readScaledObjects,
  scaledObjectConditions,
  type FailingTrigger,
  type KedaCondition,
  type ScaledObjectState,
} from "./kedaStatus.js";
export {
  applyHolds,
  planHolds,
  releaseWave,
  restoreHolds,
  type DeploymentHold,
  type HoldRecord,
  type HoldTargets,
  type RestoreResult,
  type StatefulSetHold,
} from "./holds.js";
export {
  deleteStuckPods,
  newRevisionPods,
  newestReplicaSet,
  statefulSetPods,
  type DeleteStuckPodsOptions,
  type DeleteStuckPodsResult,
  type RevisionPods,
} from "./pods.js";
export { digestsOfPods, workloadDigests, type WorkloadDigestOptions } from "./podDigests.js";
export { checkPod, checkPods, isPodReady, podRevision, type PodCheckOptions } from "./podHealth.js";
export {
  deploymentRolloutStatus,
  hasPartition,
  isHeld,
  rolloutStatus,
  statefulSetRolloutStatus,
  type RolloutStatus,
  type WorkloadKind,
} from "./rolloutStatus.js";
export {
  readRollout,
  readWorkload,
  waitForRollout,
  type RolloutOutcome,
  type RolloutProgress,
  type RolloutSnapshot,
  type WaitForRolloutOptions,
} from "./rollout.js";
export { endProbe, startProbe, waitProbeEnded, type ProbeRecord } from "./probe.js";
