// `sie-fleet preview`: what `up` would change now, or — with --to — what an upgrade would change,
// through the upgrade's own dry run (locked and journaled, so a killed preview is recoverable and
// the stack config ends exactly as it began). Nothing is applied.
import type { CapacityReport } from "../plan/capacity/report.js";
import { previewStack } from "../engine/operations.js";
import { openStack } from "../engine/stack.js";
import { ProgressEmitter } from "../events/emitter.js";
import { checkGuardrails, countChanges, DEFAULT_GUARDRAIL_POLICY, type GuardrailResult } from "../plan/guardrails.js";
import type { KedaPreflightReport } from "../plan/kedaPolicy.js";
import type { VersionPolicyResult } from "../plan/versionPolicy.js";
import { ALWAYS_ALLOWED_CHANGES } from "../../core/defaults.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext, PreviewStep, StepOp } from "../../core/types.js";
import type { UpgradeResult } from "./results.js";
import { validateStackConfig } from "./context.js";
import { stackTarget } from "./target.js";
import { changeStack } from "./upgrade.js";

export interface PreviewOptions {
  stack: string;
  /** Preview an upgrade to this tag instead of the stack's current config. */
  to?: string;
  chartVersion?: string;
}

export interface PreviewReport {
  stack: string;
  changeSummary: Partial<Record<StepOp, number>>;
  steps: PreviewStep[];
  guardrails: GuardrailResult;
  policy?: VersionPolicyResult;
  /** With --to: whether every pool has room for its workers through the rollout (the upgrade's preflight check). */
  capacity?: CapacityReport;
  /** With --to: whether KEDA autoscales the release from live metrics (the upgrade's preflight check). */
  keda?: KedaPreflightReport;
  /** With --to: the dry run's outcome ("dry-run", or "refused" by policy/guardrails/preflight). */
  upgrade?: UpgradeResult;
}

export async function preview(opts: PreviewOptions, ctx: ActionContext): Promise<PreviewReport> {
  assertStackName(opts.stack);
  if (opts.to !== undefined) {
    const r = await changeStack(
      { stack: opts.stack, to: opts.to, command: "upgrade", dryRun: true, ...(opts.chartVersion ? { chartVersion: opts.chartVersion } : {}) },
      ctx,
    );
    const steps = r.outcome === "dry-run" ? r.steps : [];
    const violations = r.outcome === "dry-run" ? r.violations : r.outcome === "refused" ? (r.violations ?? []) : [];
    return {
      stack: opts.stack,
      changeSummary: r.outcome === "dry-run" ? r.changeSummary : {},
      steps,
      guardrails: {
        ok: violations.length === 0 && r.outcome === "dry-run",
        violations,
        changes: countChanges(steps),
      },
      ...(r.capacity ? { capacity: r.capacity } : {}),
      ...(r.keda ? { keda: r.keda } : {}),
      upgrade: r,
    };
  }
  const s = await openStack(stackTarget(opts.stack, ctx));
  validateStackConfig(await s.stack.getAllConfig(), opts.stack);
  // A plain preview is neither locked nor journaled, so it has no run id of its own.
  const emit = new ProgressEmitter(ctx.reporter, "preview");
  const res = await previewStack(s, { onStep: (l) => emit.log("info", "preview", l) });
  const guardrails = checkGuardrails(res.steps, { ...DEFAULT_GUARDRAIL_POLICY, allowedChanges: ALWAYS_ALLOWED_CHANGES });
  return { stack: opts.stack, changeSummary: res.changeSummary as PreviewReport["changeSummary"], steps: res.steps, guardrails };
}
