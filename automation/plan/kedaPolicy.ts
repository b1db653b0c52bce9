/**
 * Whether KEDA autoscales the release from live metrics, as an upgrade needs before it freezes and
 * thaws the pools. Pure: actions/upgrade/preflightKeda.ts reads the ScaledObjects and acts on the verdict.
 */
import { scaledObjectName } from "../../infra/release/releaseValues.js";
import type { ScaledObjectState } from "../kube/kedaStatus.js";

export const KEDA_RULE = "keda-unhealthy";

/** The Ready reason KEDA sets (with status Unknown) while some, not all, triggers fail. */
const PARTIAL_TRIGGER_ERROR = "PartialTriggerError";

export interface KedaProblem {
  scaledObject: string;
  /** Every reason it refuses, e.g. "in Fallback (FallbackExists: …)". */
  problems: string[];
}

/** What lets a run go on past KEDA problems: `--force`, or being a rollback (the way back when metrics are broken). */
export type KedaOverride = "--force" | "rollback";

export interface KedaPreflightReport {
  /** The release's ScaledObjects as their status describes them. */
  scaledObjects: ScaledObjectState[];
  /** keda.install: this stack runs the KEDA operator, so it must be reconciling. */
  installsKeda: boolean;
  /** autoscaling.enabled: each pool with workers must have its ScaledObject. */
  autoscaling: boolean;
  /** Expected ScaledObjects that are not there (each also refuses, in `refusing`). */
  missing: string[];
  /** The keda.sh API is not served (404): the cluster has no KEDA CRDs. */
  kedaApiMissing: boolean;
  /** What refuses the run, per ScaledObject. */
  refusing: KedaProblem[];
  /** ScaledObjects no operator has reconciled, where none is expected to run: a warning. */
  unreconciled: string[];
  /** A refusal was overridden (see overriddenBy): the run goes on with a warning. */
  forced: boolean;
  overriddenBy?: KedaOverride;
}

export interface KedaExpectation {
  /** keda.install. */
  installsKeda: boolean;
  /** autoscaling.enabled. */
  autoscaling: boolean;
  /** The ScaledObjects the stack creates (expectedScaledObjects); only checked with autoscaling on. */
  expected: readonly string[];
  /** Reading ScaledObjects got a 404: the keda.sh API is not served. */
  kedaApiMissing: boolean;
  /** Set: problems warn instead of refusing. */
  override?: KedaOverride | undefined;
}

/** The ScaledObject sie-fleet creates for each of `pools` (pools with workers) of the release `fullname`. */
export function expectedScaledObjects(fullname: string, pools: readonly string[]): string[] {
  return pools.map((pool) => scaledObjectName(fullname, pool));
}

/** Of the `expected` ScaledObjects, those the cluster does not have. */
export function missingScaledObjects(expected: readonly string[], present: readonly ScaledObjectState[]): string[] {
  const names = new Set(present.map((s) => s.name));
  return expected.filter((name) => !names.has(name));
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
 *
 * With autoscaling on, not seeing a ScaledObject is no evidence that autoscaling is off: each
 * expected one that is missing refuses, and so does a cluster that serves no keda.sh API at all.
 */
export function judgeKeda(scaledObjects: ScaledObjectState[], opts: KedaExpectation): KedaPreflightReport {
  const operatorSeen = opts.installsKeda || scaledObjects.some((s) => s.reconciled);
  const refusing: KedaProblem[] = [];
  const unreconciled: string[] = [];
  const missing = opts.autoscaling ? missingScaledObjects(opts.expected, scaledObjects) : [];
  for (const name of missing) {
    refusing.push({
      scaledObject: name,
      problems: [
        opts.kedaApiMissing
          ? "is missing: the cluster serves no keda.sh API (KEDA's CRDs are not installed)"
          : "is missing although autoscaling.enabled is true and its pool runs workers",
      ],
    });
  }
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
  const override = refusing.length > 0 ? opts.override : undefined;
  const forced = override !== undefined;
  return {
    scaledObjects,
    installsKeda: opts.installsKeda,
    autoscaling: opts.autoscaling,
    missing,
    kedaApiMissing: opts.kedaApiMissing,
    refusing,
    unreconciled,
    forced,
    ...(override ? { overriddenBy: override } : {}),
  };
}

/** Why a run goes on past KEDA problems, e.g. "overridden by --force". */
export function overrideReason(by: KedaOverride): string {
  return by === "rollback" ? "not refused for a rollback, the way back when metrics are broken" : "overridden by --force";
}

/** Why the run goes on past the problems the preflight found. */
export function kedaOverrideText(report: KedaPreflightReport): string {
  return overrideReason(report.overriddenBy ?? "--force");
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
  if (report.scaledObjects.length > 0) return `${report.scaledObjects.length} ScaledObject(s), none in Fallback, not Ready or with a trigger failing`;
  return report.autoscaling ? "no ScaledObjects for the release (no pool runs workers)" : "no ScaledObjects for the release (autoscaling off)";
}
