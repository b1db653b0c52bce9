/**
 * The sie-fleet library: everything the CLI does is available here as typed async functions
 * that return results and emit ProgressEvents to an injected Reporter.
 */
export * from "../core/errors.js";
export * from "../core/types.js";
export * from "../core/defaults.js";
export { systemClock } from "../core/clock.js";
export { assertStackName, isValidStackName } from "../core/stackName.js";
export { redact, redactText, secretsFromEnv, type RedactOptions } from "../core/redact.js";
export {
  Journal,
  JOURNAL_SCHEMA_VERSION,
  incompleteRun,
  isComplete,
  journalDir,
  journalPath,
  lastRun,
  listRuns,
  newRunId,
  parseJournalText,
  mergeEntries,
  readJournal,
  readRuns,
  SIDE_EFFECTS,
  type JournalEntry,
  type JournalEntryKind,
  type JournalInput,
  type JournalOptions,
  type JournalRead,
  type SharedJournal,
  type SideEffectAction,
} from "./journal/journal.js";
export { inEffect, type InEffect } from "./journal/undo.js";
export { acquireLock, lockPath, machineId, readLock, type AcquireLockOptions, type LockHandle } from "./locks/fileLock.js";
export { isProcessAlive } from "../core/processes.js";
export {
  checkVersionPolicy,
  parseImageTag,
  tryParseImageTag,
  type ImageTag,
  type PolicyFinding,
  type VersionDirection,
  type VersionPolicyInput,
  type VersionPolicyResult,
  type VersionPolicyRule,
} from "./plan/versionPolicy.js";
export { checkGuardrails, DEFAULT_GUARDRAIL_POLICY, urnName, type GuardrailPolicy, type GuardrailResult } from "./plan/guardrails.js";
export { planWaves } from "./plan/waves.js";
export { assessPoolCapacity, type NodeView, type PoolCapacity, type PoolDemand, type WorkerView } from "./plan/capacity/poolCapacity.js";
export type { CapacityReport } from "./plan/capacity/report.js";
export { unverifiedPools, zeroReplicaPools, type ZeroReplicaPool, type ZeroReplicaPoolReport } from "./plan/zeroReplicaPools.js";
export { holdTargets, releaseWorkloads, type ReleaseNames, type Workload } from "../core/workloads.js";
export * from "./kube/index.js";
export * from "./events/index.js";

export { upgrade, type UpgradeOptions } from "./actions/upgrade.js";
export { preview, type PreviewOptions, type PreviewReport } from "./actions/preview.js";
export { up, type UpOptions, type UpReport } from "./actions/up.js";
export { rollback, type RollbackOptions } from "./actions/rollback.js";
export { history, type HistoryEntry, type HistoryOptions } from "./actions/history.js";
export { status, type StatusOptions, type StatusReport, type WorkloadStatus } from "./actions/status.js";
export { recover, type RecoverOptions, type RecoverReport } from "./actions/recover.js";
export { verify, type VerifyOptions, type VerifyReport } from "./actions/verify.js";
export { demo, type DemoOptions, type DemoReport } from "./actions/demo.js";
export { fleetUpgrade, type FleetResult, type FleetStackResult, type FleetUpgradeOptions } from "./actions/fleet.js";
export { decidePromotion, compareDigests, PROMOTION_RULES, type PromotionPolicy, type PromotionVerdict } from "./plan/promotionPolicy.js";
export { digestOfImageId, shortDigest } from "../core/imageDigests.js";
