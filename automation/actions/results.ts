// What an upgrade, rollback or fleet run returns: one shape per outcome. Kept beside the actions
// that produce them, so the domain types below them never depend on an action's report.
import type { ChartChange } from "../plan/chartChange.js";
import type { CapacityReport } from "../plan/capacity/report.js";
import type { ImageDigest } from "../../core/imageDigests.js";
import type { ExitCode } from "../../core/errors.js";
import type { KedaPreflightReport } from "../plan/kedaPolicy.js";
import type { GateResult, GuardrailViolation, PreviewStep, StepOp, WaveReport } from "../../core/types.js";
import type { SkippedCheck } from "../verify/skipped.js";
import type { ZeroReplicaPoolReport } from "../plan/zeroReplicaPools.js";
import type { PromotionReport } from "./upgrade/promotionCheck.js";

export interface UpgradeResultBase {
  runId: string;
  stack: string;
  /** Tag running before the upgrade; undefined when it could not be read. */
  from?: string;
  to: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  waves: WaveReport[];
  gates: GateResult[];
  /** Where the run's journal lives, for `recover` and support bundles. */
  journalPath?: string;
  /** With --chart-version: what the new chart changes inside the release, and the guardrail's verdict. */
  chartChange?: ChartChange;
  /** With `rollout.promotion`: the evidence the upgrade was judged on, and the digest comparison. */
  promotion?: PromotionReport;
  /** The preflight's capacity check, once it ran. */
  capacity?: CapacityReport;
  /** The preflight's KEDA check, once it ran. */
  keda?: KedaPreflightReport;
  /** Pools that ran 0 workers when KEDA was frozen, and whether each was verified. */
  zeroReplicaPools?: ZeroReplicaPoolReport[];
  /** Checks the run left out (rollout.gates.skip, --skip-check, --force past a check that could not look); absent when none. */
  skippedChecks?: SkippedCheck[];
}

export interface UpgradeSucceeded extends UpgradeResultBase {
  outcome: "succeeded";
  /** The image digests the release's pods ran once verified (also in the journal's outcome entry). */
  digests?: ImageDigest[];
}

/**
 * Applied, and every check it ran passed, but something was not looked at: pools left at zero
 * workers (rollout.zeroReplicaPools: report; `unverifiedPools`), or checks the run left out
 * (`skippedChecks`). At least one of the two is there.
 */
export interface UpgradeSucceededUnverified extends UpgradeResultBase {
  outcome: "succeeded-unverified";
  unverifiedPools?: string[];
}

export interface UpgradeReverted extends UpgradeResultBase {
  outcome: "reverted";
  /** The gate that failed and made us revert. */
  failedGate: GateResult;
  /** The tag the stack runs again. */
  revertedTo: string;
}

export interface UpgradeRefused extends UpgradeResultBase {
  outcome: "refused";
  refusedBy: "policy" | "guardrail" | "preflight";
  /** Stable rule id, e.g. "skip-too-large" or "guardrail". */
  rule: string;
  reason: string;
  /** What to do about it, when the refusal names a fix. */
  hint?: string;
  violations?: GuardrailViolation[];
  /** Set when the refusal means another exit code than 4 (3: the kubeconfig lacks a permission a gate needs). */
  exitCode?: ExitCode;
}

export interface UpgradeNeedsAttention extends UpgradeResultBase {
  outcome: "needs-attention";
  reason: string;
  failedGate?: GateResult;
  /** Why the revert (or recovery) failed. */
  revertError?: string;
}

export interface UpgradeDryRun extends UpgradeResultBase {
  outcome: "dry-run";
  /** Counts per step op, from the preview's summary. */
  changeSummary: Partial<Record<StepOp, number>>;
  steps: PreviewStep[];
  violations: GuardrailViolation[];
}

export type UpgradeResult = UpgradeSucceeded | UpgradeSucceededUnverified | UpgradeReverted | UpgradeRefused | UpgradeNeedsAttention | UpgradeDryRun;
