// The verification suite's entry points for the upgrade engine: captureBaseline() before the
// release is applied, runVerification() after each wave's rollout and once at the end.
// See README.md in this folder for the wiring.
import type { GateResult } from "../../core/types.js";
import { phaseChecks } from "./checks.js";
import { resolveGates } from "./metricGates.js";
import { PrometheusClient } from "./prometheus.js";
import { runInStages } from "./runner.js";
import type { Baseline, GatesConfig, GatesInput, VerifyCheckName, VerifyContext, VerifyTarget } from "./types.js";

export { captureBaseline, type CaptureBaselineOptions } from "./baseline.js";
export { compareWithBaseline, metricQueries, metricSpec, observe, resolveGates } from "./metricGates.js";
export { binomialCdf, type ErrorSamplePlan, planErrorSample } from "./sampleSize.js";
export {
  CHECK_REGISTRY,
  DEFAULT_CHECKS,
  SKIP_SOURCES,
  VERIFY_CHECKS,
  buildChecks,
  describeSkipped,
  phaseChecks,
  skippedChecks,
  type SkippedCheck,
  type SkipSource,
} from "./checks.js";
export { runCheck, runInStages, type RunPolicy } from "./runner.js";
export { rolloutGateName, rolloutGates, settledGates } from "./rolloutGates.js";
export { PrometheusClient, type PromSample, type PromSeries } from "./prometheus.js";
export * from "./analysis.js";
export { mannWhitneyU, median, type MannWhitneyResult } from "./mannWhitney.js";
export {
  type Baseline,
  type Check,
  type CheckOutcome,
  type EndpointBaseline,
  type GatesConfig,
  type GatesInput,
  type PoolBaseline,
  SAMPLED_COMPONENTS,
  type SampledComponent,
  type VerifyCheckName,
  type VerifyContext,
  type VerifyTarget,
} from "./types.js";

export interface RunVerificationOptions extends VerifyTarget {
  /** Overrides gates.prometheusUrl. */
  prometheusUrl?: string;
  /** The stack's `rollout.gates` (defaults filled in if missing). */
  gates?: GatesInput | GatesConfig;
  /** From captureBaseline() before the apply; without it metric gates judge absolute thresholds only. */
  baseline?: Baseline;
  signal?: AbortSignal;
  /** Overrides gates.checks[phase] (e.g. ["keda"] right after the thaw); gates.skip still applies. */
  checks?: readonly VerifyCheckName[];
  /** Checks left out of the list (e.g. "rollout" after a wave whose rollout was already waited for). */
  skip?: readonly VerifyCheckName[];
  /** Running-but-not-Ready grace for the rollout check (default NOT_READY_AFTER_MS per kind). */
  notReadyAfterMs?: number;
  /** Encode requests per smoke test (default SMOKE_REQUESTS, core/defaults.ts). */
  smokeRequests?: number;
}

/**
 * Runs the configured checks for one phase and returns one GateResult per check (fail → the
 * engine reverts; warn never fails a run). Never throws for a failing cluster: every problem is a
 * GateResult with evidence. Without a Prometheus URL the Prometheus checks and metric gates come
 * back as one "warn" each saying they were skipped.
 */
export async function runVerification(opts: RunVerificationOptions): Promise<GateResult[]> {
  const gates = resolveGates(opts.gates);
  const prometheusUrl = opts.prometheusUrl ?? gates.prometheusUrl;
  const ctx: VerifyContext = {
    phase: opts.phase,
    ...(opts.wave ? { wave: opts.wave } : {}),
    kube: opts.kube,
    names: opts.names,
    ...(opts.gatewayUrl ? { gatewayUrl: opts.gatewayUrl } : {}),
    ...(opts.configUrl ? { configUrl: opts.configUrl } : {}),
    expectTag: opts.expectTag,
    ...(opts.componentTags ? { componentTags: opts.componentTags } : {}),
    ...(opts.autoscaling !== undefined ? { autoscaling: opts.autoscaling } : {}),
    ...(prometheusUrl ? { prometheus: new PrometheusClient(prometheusUrl, { timeoutMs: gates.checkTimeoutSeconds * 1000, http: opts.kube.http }) } : {}),
    gates,
    ...(opts.baseline ? { baseline: opts.baseline } : {}),
    ...(opts.notReadyAfterMs !== undefined ? { notReadyAfterMs: opts.notReadyAfterMs } : {}),
    ...(opts.smokeRequests !== undefined ? { smokeRequests: opts.smokeRequests } : {}),
  };
  const names = (opts.checks ?? phaseChecks(gates, opts.phase)).filter((c) => !opts.skip?.includes(c) && !gates.skip.includes(c));
  return runInStages(names, ctx, {
    concurrency: gates.concurrency,
    timeoutMs: gates.checkTimeoutSeconds * 1000,
    retries: gates.retries,
    backoffMs: gates.backoffSeconds * 1000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
