// The first half of an upgrade or rollback, as Helm splits its actions: everything judged before
// anything changes. It writes only journal records (decisions and evidence); perform.ts changes
// the stack.
import type { FleetConfig } from "../../../infra/config/configTypes.js";
import { EXIT_CODES, type ExitCode, PolicyRefusedError, type SieFleetError } from "../../../core/errors.js";
import { releaseWorkloads } from "../../../core/workloads.js";
import { pendingOperationCount } from "../../engine/operations.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";

import { pulumiLocks } from "../../locks/pulumiLocks.js";
import type { CapacityReport } from "../../plan/capacity/report.js";
import { chartChange, type ChartChange } from "../../plan/chartChange.js";
import type { KedaPreflightReport } from "../../plan/kedaPolicy.js";
import { checkVersionPolicy } from "../../plan/versionPolicy.js";
import { describeSkipped, settledGates, type SkippedCheck, type VerifyCheckName } from "../../verify/index.js";
import type { ActionContext } from "../../../core/types.js";
import type { StackContext } from "../context.js";
import type { ChangeOptions } from "./options.js";
import { preflightCapacity } from "./preflightCapacity.js";
import { preflightKeda } from "./preflightKeda.js";
import { preflightReach } from "./preflightReach.js";
import { describePrepull, findPrepull } from "./prepull.js";
import { checkPromotion, type PromotionCheck, type PromotionReport } from "./promotionCheck.js";

export interface Prepared {
  /** The stack as the run sees it: its check lists minus every check the run leaves out. */
  sc: StackContext;
  /** The checks the run leaves out (config, --skip-check, and what --force went on without). */
  skipped: SkippedCheck[];
  chart?: ChartChange;
  promotion?: PromotionCheck;
  capacity?: CapacityReport;
  keda?: KedaPreflightReport;
}

/** Why nothing may change, with what had been judged until then: the refused result's own fields. */
export interface Refusal {
  refusedBy: "policy" | "guardrail" | "preflight";
  rule: string;
  reason: string;
  exitCode?: ExitCode;
  hint?: string;
  chartChange?: ChartChange;
  capacity?: CapacityReport;
  keda?: KedaPreflightReport;
  promotion?: PromotionReport;
}

export type PrepareResult = { ready: Prepared; refused?: undefined } | { refused: Refusal; ready?: undefined };

/**
 * Judged in this order: the chart change first (a chart that replaces workloads also makes the
 * current deployment look unhealthy to the preflight, which would hide the real reason), then the
 * promotion evidence (without it nothing else about this stack matters), then the preflight.
 */
export async function prepare(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  opts: ChangeOptions,
  ctx: ActionContext,
  skipped: SkippedCheck[],
): Promise<PrepareResult> {
  const force = !!opts.force;
  const to = opts.to;
  const chart =
    opts.chartVersion && opts.chartVersion !== sc.config.release.version
      ? await judgeChart(sc, to, opts.chartVersion, { force, env: ctx.env ?? process.env }, emit, journal)
      : undefined;
  if (chart && !chart.verdict.allowed)
    return { refused: { refusedBy: "guardrail", rule: chart.verdict.rule, reason: chart.verdict.reason, chartChange: chart } };
  const promotion = opts.command === "upgrade" ? await checkPromotion(sc, { to, force }, ctx, emit, journal) : undefined;
  const found: PreflightReport = promotion?.refusal ? { refusal: promotion.refusal } : await preflight(sc, to, { force, command: opts.command }, emit, journal);
  const { capacity, keda, refusal } = found;
  if (refusal) {
    return {
      refused: {
        refusedBy: refusal instanceof PolicyRefusedError ? "policy" : "preflight",
        rule: refusal.code,
        reason: refusal.message,
        ...(refusal.exitCode !== EXIT_CODES.refused ? { exitCode: refusal.exitCode } : {}),
        ...(refusal.hint ? { hint: refusal.hint } : {}),
        ...(chart ? { chartChange: chart } : {}),
        ...(capacity ? { capacity } : {}),
        ...(keda ? { keda } : {}),
        ...(promotion ? { promotion: promotion.report } : {}),
      },
    };
  }
  const forced = (found.forceSkipped ?? []).filter((name) => !skipped.some((s) => s.name === name));
  skipped.push(...forced.map((name) => ({ name, source: "force" as const })));
  if (skipped.length > 0) {
    // Said before anything changes, so even a run killed halfway shows what it did not check.
    const message = `checks left out of this run: ${describeSkipped(skipped)}; it ends succeeded-unverified at best`;
    await journal.decision("preflight", JOURNAL_ACTIONS.checksSkipped, { message, data: skipped });
    emit.log("warn", "preflight", message);
  }
  return {
    ready: {
      sc: { ...withSkippedChecks(sc, skipped), ...(found.prepull ? { prepull: found.prepull } : {}) },
      skipped,
      ...(chart ? { chart } : {}),
      ...(promotion ? { promotion } : {}),
      ...(capacity ? { capacity } : {}),
      ...(keda ? { keda } : {}),
    },
  };
}

/** Renders the current and the target chart with Helm and decides whether the change can roll in waves. */
async function judgeChart(
  sc: StackContext,
  to: string,
  chartVersion: string,
  opts: { force: boolean; env: NodeJS.ProcessEnv },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<ChartChange> {
  emit.phase("preflight", "started", `comparing chart ${sc.config.release.version ?? sc.config.release.chart} with ${chartVersion} (helm template of both)`);
  const target = { ...sc.config, release: { ...sc.config.release, version: chartVersion, imageTag: to } } as FleetConfig;
  const change = await chartChange({ config: sc.config, target, projectDir: sc.open.projectDir, env: opts.env, force: opts.force });
  await journal.decision("preflight", JOURNAL_ACTIONS.chartChange, { data: change });
  for (const line of [
    `chart ${change.from} → ${change.to}: ${change.added.length} added, ${change.removed.length} removed, ${change.changed.length} changed`,
    ...change.removed.map((r) => `  - ${r}`),
    ...change.added.map((r) => `  + ${r}`),
    ...change.changed.map((c) => `  ~ ${c.object}: ${c.paths.join(", ")}`),
  ]) {
    emit.log("info", "preflight", line);
  }
  if (change.verdict.allowed) emit.phase("preflight", "succeeded", change.verdict.reason);
  return change;
}

/** What the preflight found: the reports of the checks that ran (a refusal carries them too), and its refusal if any. */
interface PreflightReport {
  refusal?: SieFleetError;
  capacity?: CapacityReport;
  keda?: KedaPreflightReport;
  /** Checks with nothing to look at that --force goes on without. */
  forceSkipped?: VerifyCheckName[];
  /** Pool → its image pre-pull DaemonSet. */
  prepull?: Record<string, string>;
}

/** The stack context with the run's skipped checks added to rollout.gates.skip, which phaseChecks subtracts. */
export function withSkippedChecks(sc: StackContext, skipped: readonly SkippedCheck[]): StackContext {
  const gates = sc.config.rollout.gates;
  const skip = [...new Set([...gates.skip, ...skipped.map((s) => s.name)])];
  if (skip.length === gates.skip.length) return sc;
  const config = { ...sc.config, rollout: { ...sc.config.rollout, gates: { ...gates, skip } } } as FleetConfig;
  return { ...sc, config };
}

async function preflight(
  sc: StackContext,
  to: string,
  opts: { force: boolean; command: ChangeOptions["command"] },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<PreflightReport> {
  const { force } = opts;
  const seen: PreflightReport = {};
  const refuse = (refusal: SieFleetError): PreflightReport => ({ ...seen, refusal });
  emit.phase("preflight", "started", `preflight: ${sc.imageTag} → ${to}`);
  const policy = checkVersionPolicy({ from: sc.imageTag, to, maxMinorSkip: sc.config.rollout.maxMinorSkip, forwardOnly: sc.config.rollout.forwardOnly, force });
  await journal.decision("preflight", JOURNAL_ACTIONS.policyVersion, { data: policy });
  if (!policy.allowed) {
    return refuse(
      new PolicyRefusedError(policy.rule, `version policy refuses ${sc.imageTag} → ${to}: ${policy.reason}`, {
        hint: "upgrade through the intermediate versions, or pass --force if you accept the risk",
      }),
    );
  }
  if (policy.direction === "same") {
    return refuse(
      new PolicyRefusedError("same-version", `stack ${sc.open.name} already runs ${to}; nothing to upgrade`, {
        hint: `sie-fleet status --stack ${sc.open.name}`,
      }),
    );
  }
  const live = pulumiLocks(sc.open).filter((l) => l.alive);
  if (live.length > 0) {
    return refuse(
      new PolicyRefusedError("pulumi-locked", `another Pulumi operation holds stack ${sc.open.name} (pid ${live.map((l) => l.pid ?? "?").join(", ")})`, {
        hint: "wait for it to finish; if its process is gone, sie-fleet recover removes the lock",
      }),
    );
  }
  // Reachable with the stack's kubeconfig: one cheap read before anything else.
  await sc.kube.api.readNamespace(sc.names.namespace);
  // Before the health check: for a Pending worker or a NotReady node it names what is short.
  const capacity = await preflightCapacity(sc, { force }, emit, journal);
  seen.capacity = capacity.report;
  if (capacity.refusal) return refuse(capacity.refusal);
  const health = await settledGates(sc.kube.api, sc.names.namespace, releaseWorkloads(sc.names));
  for (const g of health) emit.gate("preflight", g);
  const unhealthy = health.find((g) => g.status === "fail");
  if (unhealthy) {
    return refuse(
      new PolicyRefusedError("unhealthy", `the current deployment is not healthy (${unhealthy.name}: ${unhealthy.message}); refusing to upgrade on top of it`, {
        hint: `sie-fleet status --stack ${sc.open.name}; fix it or run sie-fleet recover`,
      }),
    );
  }
  // The run freezes every pool at its count and thaws it at the end: that is only safe while KEDA
  // computes those counts from live metrics. A rollback goes on with a warning: it is the way back
  // exactly when metrics are broken.
  const keda = await preflightKeda(sc, { force, rollback: opts.command === "rollback" }, emit, journal);
  seen.keda = keda.report;
  if (keda.refusal) return refuse(keda.refusal);
  // A gate that cannot look at what it judges would fail after the apply (a needless revert), or
  // worse, never look: prove each one can reach its Service or Prometheus while nothing has changed.
  const reach = await preflightReach(sc, { force, rollback: opts.command === "rollback" }, emit, journal);
  if (reach.forceSkipped) seen.forceSkipped = reach.forceSkipped;
  if (reach.refusal) return refuse(reach.refusal);
  // Which pools' waves wait for their image pre-pull (prepull.ts); read now so a refused read stops the run here.
  seen.prepull = await findPrepull(sc);
  const prepullNote = describePrepull(Object.keys(sc.names.statefulSets), seen.prepull);
  if (prepullNote) emit.log("info", "preflight", prepullNote);
  const pending = await pendingOperationCount(sc.open);
  if (pending > 0) {
    return refuse(
      new PolicyRefusedError("pending-operations", `stack ${sc.open.name} has ${pending} pending operation(s) from an interrupted update`, {
        hint: `sie-fleet recover --stack ${sc.open.name}`,
      }),
    );
  }
  emit.phase("preflight", "succeeded", "preflight passed");
  return seen;
}
