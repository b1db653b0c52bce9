// The KEDA preflight of `upgrade` and `rollback`: before anything changes, the release's
// ScaledObjects must be autoscaling from live metrics. The run freezes every pool at its current
// count and thaws it at the end; a ScaledObject whose metrics are broken would stay frozen at a
// count nobody computed and then thaw straight into KEDA's fallback count. So a ScaledObject in
// Fallback, not Ready, or with a trigger whose metric reads are failing refuses the run (exit 4,
// rule `keda-unhealthy`) unless `--force`; either way the verdict is a preflight gate and a decision
// in the journal.
import type { FleetConfig } from "../../infra/configTypes.js";
import { EXIT_CODES, SieFleetError } from "../errors.js";
import type { ProgressEmitter } from "../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../journal.js";
import { isNotFound, readScaledObjects, type ScaledObjectState } from "../kube/index.js";
import { judgeKeda, KEDA_RULE, kedaOkText, kedaProblemText, unreconciledText, type KedaPreflightReport } from "../policy/keda.js";
import type { Evidence, GateResult } from "../types.js";
import { releaseWorkloads } from "../workloads.js";
import type { StackContext } from "./context.js";

/** KEDA cannot autoscale the release from live metrics (exit 4); nothing was changed. */
export class KedaRefusedError extends SieFleetError {
  constructor(
    readonly report: KedaPreflightReport,
    ctx: { stack: string; namespace: string; config: Pick<FleetConfig, "autoscaling" | "keda"> },
  ) {
    super(
      KEDA_RULE,
      EXIT_CODES.refused,
      `KEDA cannot autoscale the release from live metrics: ${kedaProblemText(report)}; the run would freeze each pool at a count no metric backs; nothing was changed`,
      {
        hint:
          `check Prometheus at ${ctx.config.autoscaling.prometheusAddress} (the triggers' server) and the KEDA operator's logs ` +
          `(kubectl logs -n ${ctx.config.keda.namespace} deploy/keda-operator), and \`kubectl get scaledobject -n ${ctx.namespace}\`; ` +
          `fix them and run again, or pass --force to upgrade anyway. sie-fleet preview --stack ${ctx.stack} --to <tag> shows the same check`,
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
    return report.forced ? gate("warn", `${kedaProblemText(report)} (overridden by --force)`) : gate("fail", kedaProblemText(report));
  }
  if (report.unreconciled.length > 0) return gate("warn", unreconciledText(report));
  return gate("pass", kedaOkText(report));
}

/** Reads the release's ScaledObjects and judges them; changes nothing. */
export async function assessKeda(sc: StackContext, opts: { force: boolean }): Promise<KedaPreflightReport> {
  const targets = new Set(releaseWorkloads(sc.names).map((w) => w.name));
  let scaledObjects: ScaledObjectState[];
  try {
    scaledObjects = await readScaledObjects(sc.kube.api, sc.names.namespace, targets);
  } catch (err) {
    // The keda.sh API is not served (no KEDA CRDs): there is nothing to autoscale.
    if (!isNotFound(err)) throw err;
    scaledObjects = [];
  }
  return judgeKeda(scaledObjects, { installsKeda: sc.config.keda.install, force: opts.force });
}

/** Judges, reports and journals KEDA's state; returns the refusal when it is broken and the run is not forced. */
export async function preflightKeda(
  sc: StackContext,
  opts: { force: boolean },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<{ report: KedaPreflightReport; refusal?: KedaRefusedError }> {
  const report = await assessKeda(sc, opts);
  const gate = kedaGate(report);
  emit.gate("preflight", gate);
  const message = report.forced
    ? `KEDA problems overridden by --force: ${kedaProblemText(report)}`
    : report.refusing.length > 0
      ? `refused: ${kedaProblemText(report)}`
      : gate.message;
  await journal.decision("preflight", JOURNAL_ACTIONS.preflightKeda, { message, data: report });
  if (report.forced) emit.log("warn", "preflight", message);
  else if (report.unreconciled.length > 0) emit.log("warn", "preflight", unreconciledText(report));
  if (report.refusing.length === 0 || report.forced) return { report };
  return { report, refusal: new KedaRefusedError(report, { stack: sc.open.name, namespace: sc.names.namespace, config: sc.config }) };
}
