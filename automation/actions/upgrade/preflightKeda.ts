// The KEDA preflight of `upgrade` and `rollback`: before anything changes, the release's
// ScaledObjects must be autoscaling from live metrics. The run freezes every pool at its current
// count and thaws it at the end; a ScaledObject whose metrics are broken would stay frozen at a
// count nobody computed and then thaw into whatever KEDA makes of failing triggers. So with
// autoscaling on, a missing ScaledObject (or no keda.sh API at all), one in Fallback, not Ready, or
// with a trigger whose metric reads are failing refuses an upgrade (exit 4, rule `keda-unhealthy`)
// unless `--force`. A rollback only warns: it is the way back exactly when metrics are broken.
// Either way the verdict is a preflight gate and a decision in the journal.
import type { FleetConfig } from "../../../infra/config/configTypes.js";
import { EXIT_CODES, SieFleetError } from "../../../core/errors.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { readScaledObjects } from "../../kube/index.js";
import {
  expectedScaledObjects,
  judgeKeda,
  KEDA_RULE,
  kedaOkText,
  kedaOverrideText,
  kedaProblemText,
  unreconciledText,
  type KedaPreflightReport,
} from "../../plan/kedaPolicy.js";
import type { Evidence, GateResult } from "../../../core/types.js";
import { releaseWorkloads } from "../../../core/workloads.js";
import type { StackContext } from "../context.js";

/** The Prometheus the triggers query, as the stack resolves it; undefined when it names none. */
function triggersPrometheus(config: Pick<FleetConfig, "autoscaling" | "monitoring">): string | undefined {
  return config.monitoring?.prometheus?.inClusterUrl ?? config.autoscaling.prometheusAddress;
}

/** KEDA cannot autoscale the release from live metrics (exit 4); nothing was changed. */
export class KedaRefusedError extends SieFleetError {
  constructor(
    readonly report: KedaPreflightReport,
    ctx: { stack: string; namespace: string; config: Pick<FleetConfig, "autoscaling" | "keda" | "monitoring"> },
  ) {
    const fixes: string[] = [];
    if (report.kedaApiMissing) {
      fixes.push("install KEDA's CRDs (keda.install: true, or install KEDA yourself)");
    }
    if (report.missing.length > 0) {
      fixes.push(`recreate the missing ScaledObjects with sie-fleet up --stack ${ctx.stack}`);
    }
    if (report.refusing.length > report.missing.length) {
      const prometheus = triggersPrometheus(ctx.config);
      fixes.push(
        `check ${prometheus ? `Prometheus at ${prometheus}` : "the Prometheus"} (the triggers' server) and the KEDA operator's logs ` +
          `(kubectl logs -n ${ctx.config.keda.namespace} deploy/keda-operator)`,
      );
    }
    super(
      KEDA_RULE,
      EXIT_CODES.refused,
      `KEDA cannot autoscale the release from live metrics: ${kedaProblemText(report)}; the run would freeze each pool at a count no metric backs; nothing was changed`,
      {
        hint:
          `${fixes.join("; ")}; \`kubectl get scaledobject -n ${ctx.namespace}\` lists what is there. ` +
          `Fix it and run again, or pass --force to upgrade anyway. sie-fleet preview --stack ${ctx.stack} --to <tag> shows the same check`,
        details: { scaledObjects: report.refusing },
      },
    );
  }
}

/** The verdict as one preflight gate: pass, fail, or warn when forced past or nothing reconciles. */
export function kedaGate(report: KedaPreflightReport): GateResult {
  const evidence: Evidence = { scaledObjects: report.scaledObjects };
  const gate = (status: GateResult["status"], message: string): GateResult => ({ name: "keda", status, message, evidence, durationMs: 0 });
  if (report.refusing.length > 0) {
    return report.forced ? gate("warn", `${kedaProblemText(report)} (${kedaOverrideText(report)})`) : gate("fail", kedaProblemText(report));
  }
  if (report.unreconciled.length > 0) return gate("warn", unreconciledText(report));
  return gate("pass", kedaOkText(report));
}

/**
 * Reads the release's ScaledObjects and judges them; changes nothing. Expected: one per pool with
 * workers in the deployed stack (its outputs' pools), when autoscaling is on.
 */
export async function assessKeda(sc: StackContext, opts: { force: boolean; rollback?: boolean }): Promise<KedaPreflightReport> {
  const targets = new Set(releaseWorkloads(sc.names).map((w) => w.name));
  const { scaledObjects, kedaApiMissing } = await readScaledObjects(sc.kube.api, sc.names.namespace, targets);
  const autoscaling = sc.config.autoscaling.enabled;
  return judgeKeda(scaledObjects, {
    installsKeda: sc.config.keda.install,
    autoscaling,
    expected: autoscaling ? expectedScaledObjects(sc.names.fullname, Object.keys(sc.names.statefulSets)) : [],
    kedaApiMissing,
    override: opts.force ? "--force" : opts.rollback ? "rollback" : undefined,
  });
}

/**
 * Judges, reports and journals KEDA's state; returns the refusal when it is broken and nothing
 * overrides it (`--force`, or `rollback`: then the problems are a warning, journaled as overridden).
 */
export async function preflightKeda(
  sc: StackContext,
  opts: { force: boolean; rollback?: boolean },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<{ report: KedaPreflightReport; refusal?: KedaRefusedError }> {
  const report = await assessKeda(sc, opts);
  const gate = kedaGate(report);
  emit.gate("preflight", gate);
  const message = report.forced
    ? `KEDA problems ${kedaOverrideText(report)}: ${kedaProblemText(report)}`
    : report.refusing.length > 0
      ? `refused: ${kedaProblemText(report)}`
      : gate.message;
  await journal.decision("preflight", JOURNAL_ACTIONS.preflightKeda, { message, data: report });
  if (report.forced) emit.log("warn", "preflight", message);
  else if (report.unreconciled.length > 0) emit.log("warn", "preflight", unreconciledText(report));
  if (report.refusing.length === 0 || report.forced) return { report };
  return { report, refusal: new KedaRefusedError(report, { stack: sc.open.name, namespace: sc.names.namespace, config: sc.config }) };
}
