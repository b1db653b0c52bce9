/**
 * Whether KEDA autoscales the release from live metrics, as an upgrade needs before it freezes and
 * thaws the pools. Pure: actions/preflightKeda.ts reads the ScaledObjects and acts on the verdict.
 */
import type { ScaledObjectState } from "../kube/kedaStatus.js";

export const KEDA_RULE = "keda-unhealthy";

/** The Ready reason KEDA sets (with status Unknown) while some, not all, triggers fail. */
const PARTIAL_TRIGGER_ERROR = "PartialTriggerError";

export interface KedaProblem {
  scaledObject: string;
  /** Every reason it refuses, e.g. "in Fallback (FallbackExists: …)". */
  problems: string[];
}

export interface KedaPreflightReport {
  /** The release's ScaledObjects as their status describes them. */
  scaledObjects: ScaledObjectState[];
  /** keda.install: this stack runs the KEDA operator, so it must be reconciling. */
  installsKeda: boolean;
  /** What refuses the run, per ScaledObject. */
  refusing: KedaProblem[];
  /** ScaledObjects no operator has reconciled, where none is expected to run: a warning. */
  unreconciled: string[];
  /** `--force` overrode a refusal. */
  forced: boolean;
}

function conditionText(reason: string | undefined, message: string | undefined): string {
  return reason && message ? `${reason}: ${message}` : (reason ?? message ?? "no reason given");
}

/**
 * Judges the ScaledObjects; pure. A ScaledObject whose status holds no condition has never been
 * reconciled (the operator initialises every condition on its first pass). That must not pass as
 * healthy: while no operator runs, autoscaling is not live and the freeze/thaw only move
 * annotations. When the stack installs KEDA itself (keda.install), or another of the release's
 * ScaledObjects shows an operator is running, the operator should have reconciled it, so it
 * refuses; otherwise (a cluster without KEDA, like the embedded one) it is a warning.
 */
export function judgeKeda(scaledObjects: ScaledObjectState[], opts: { installsKeda: boolean; force: boolean }): KedaPreflightReport {
  const operatorSeen = opts.installsKeda || scaledObjects.some((s) => s.reconciled);
  const refusing: KedaProblem[] = [];
  const unreconciled: string[] = [];
  for (const s of scaledObjects) {
    const problems: string[] = [];
    if (!s.reconciled) {
      if (!operatorSeen) {
        unreconciled.push(s.name);
        continue;
      }
      problems.push(
        opts.installsKeda
          ? "has no status conditions: the KEDA operator this stack installs (keda.install) has not reconciled it"
          : "has no status conditions although the KEDA operator reconciles the release's other ScaledObjects",
      );
    }
    if (s.fallback === "True") problems.push(`in Fallback (${conditionText(s.fallbackReason, s.fallbackMessage)})`);
    if (s.ready === "False" || (s.ready === "Unknown" && s.readyReason === PARTIAL_TRIGGER_ERROR)) {
      problems.push(`Ready=${s.ready} (${conditionText(s.readyReason, s.readyMessage)})`);
    }
    if (s.failing.length > 0) {
      problems.push(`trigger metric ${s.failing.map((f) => `${f.metric} Failing (${f.failures} failed read(s))`).join(", ")}`);
    }
    if (problems.length > 0) refusing.push({ scaledObject: s.name, problems });
  }
  return { scaledObjects, installsKeda: opts.installsKeda, refusing, unreconciled, forced: refusing.length > 0 && opts.force };
}

/** Every refusing ScaledObject and why, in one line. */
export function kedaProblemText(report: KedaPreflightReport): string {
  return report.refusing.map((r) => `ScaledObject ${r.scaledObject} ${r.problems.join("; ")}`).join("; ");
}

/** The warning for ScaledObjects nothing reconciles. */
export function unreconciledText(report: KedaPreflightReport): string {
  return (
    `KEDA is not reconciling ScaledObjects: ${report.unreconciled.join(", ")} have no status conditions and this stack does not install ` +
    "KEDA (keda.install: false), so autoscaling is not live; the upgrade freezes and thaws them without effect"
  );
}

/** The verdict in one line when nothing refuses. */
export function kedaOkText(report: KedaPreflightReport): string {
  return report.scaledObjects.length === 0
    ? "no ScaledObjects for the release (autoscaling off)"
    : `${report.scaledObjects.length} ScaledObject(s), none in Fallback, not Ready or with a trigger failing`;
}
