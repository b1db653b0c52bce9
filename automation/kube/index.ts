export { KubeClient, type KubeClientOptions, type KubeOps } from "./client.js";
export { KubeApi, KubeApiError, MERGE_PATCH, isNotFound, selectorString, type CustomObjectRef, type KubeObjectLike } from "./api.js";
export {
  SCALED_OBJECTS,
  applyKedaFreeze,
  freezeKeda,
  pauseAnnotations,
  planKedaFreeze,
  thawKeda,
  type FreezeOptions,
  type KedaFreezeEntry,
  type KedaFreezeRecord,
  type ThawResult,
} from "./keda.js";
export {
  applyHolds,
  hold,
  holdWorkers,
  mergeHoldRecords,
  pauseDeployments,
  planHolds,
  releaseWave,
  restoreHolds,
  type DeploymentHold,
  type HoldOptions,
  type HoldRecord,
  type HoldTargets,
  type RestoreResult,
  type StatefulSetHold,
} from "./holds.js";
export { deleteStuckPods, newRevisionPods, newestReplicaSet, podsOnRevision, statefulSetPods, type DeleteStuckPodsOptions, type DeleteStuckPodsResult, type RevisionPods } from "./pods.js";
export { checkPod, checkPods, isPodReady, podRevision, type PodCheckOptions } from "./podHealth.js";
export { deploymentRolloutStatus, isHeld, rolloutStatus, statefulSetRolloutStatus, type RolloutStatus, type WorkloadKind } from "./rolloutStatus.js";
export { readRollout, rolloutGateName, rolloutGates, settledGates, waitForRollout, type RolloutOutcome, type RolloutProgress, type RolloutSnapshot, type WaitForRolloutOptions } from "./rollout.js";
