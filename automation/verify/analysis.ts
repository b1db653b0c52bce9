// Canary analysis modelled on Argo Rollouts' AnalysisTemplate: a metric spec (interval, count,
// success/failure condition, limits), Measurements (one sample each) and a MetricResult holding
// the counters. Everything here is pure: the verdict is a function of the counters, so it can be
// tested without a clock or a Prometheus.
//
// One deliberate difference from Argo: no Successful or Failed verdict is given before
// `minSamples` valid samples exist, so a gate never decides from less data than configured
// (Argo fails as soon as failed > failureLimit).

export const MEASUREMENT_PHASES = ["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"] as const;
export type AnalysisPhase = (typeof MEASUREMENT_PHASES)[number];

/** One sample. `Error` = could not measure; `Failed` = measured, and it is bad. */
export interface Measurement<V = number> {
  phase: AnalysisPhase;
  value?: V;
  message?: string;
  startedAt: string;
  finishedAt?: string;
  /** What was asked, for evidence (query, URL). */
  detail?: Record<string, string | number>;
}

export interface Condition {
  op: "<" | "<=" | ">" | ">=";
  value: number;
}

export interface MetricSpec {
  name: string;
  intervalMs: number;
  /** Measurements in the window. */
  count: number;
  initialDelayMs?: number;
  successCondition: Condition;
  /** Without one, a value that is not successful counts as failed (as in Argo). */
  failureCondition?: Condition;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  /** Valid (successful + failed) samples needed before any verdict. */
  minSamples: number;
}

export interface MetricResult {
  name: string;
  phase: AnalysisPhase;
  message?: string;
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  measurements: Measurement[];
}

export function conditionText(c: Condition): string {
  return `result ${c.op} ${c.value}`;
}

export function holds(c: Condition, v: number): boolean {
  switch (c.op) {
    case "<":
      return v < c.value;
    case "<=":
      return v <= c.value;
    case ">":
      return v > c.value;
    case ">=":
      return v >= c.value;
  }
}

/** Phase of a measured value: no value (no data) is Inconclusive, never a pass. */
export function evaluateValue(
  value: number | undefined,
  spec: Pick<MetricSpec, "successCondition" | "failureCondition">,
): { phase: "Successful" | "Failed" | "Inconclusive"; message: string } {
  if (value === undefined || !Number.isFinite(value)) return { phase: "Inconclusive", message: "no data" };
  if (spec.failureCondition && holds(spec.failureCondition, value))
    return { phase: "Failed", message: `${value} meets failure condition ${conditionText(spec.failureCondition)}` };
  if (holds(spec.successCondition, value)) return { phase: "Successful", message: `${value} meets ${conditionText(spec.successCondition)}` };
  if (spec.failureCondition)
    return { phase: "Inconclusive", message: `${value} meets neither ${conditionText(spec.successCondition)} nor ${conditionText(spec.failureCondition)}` };
  return { phase: "Failed", message: `${value} does not meet ${conditionText(spec.successCondition)}` };
}

export function emptyResult(name: string): MetricResult {
  return { name, phase: "Pending", count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveError: 0, measurements: [] };
}

/** Adds one measurement (already phased: Successful/Failed/Inconclusive/Error) to the counters. */
export function record(result: MetricResult, m: Measurement): MetricResult {
  const next = { ...result, count: result.count + 1, measurements: [...result.measurements, m] };
  if (m.phase === "Successful") next.successful++;
  else if (m.phase === "Failed") next.failed++;
  else if (m.phase === "Inconclusive") next.inconclusive++;
  else if (m.phase === "Error") next.error++;
  next.consecutiveError = m.phase === "Error" ? result.consecutiveError + 1 : 0;
  return next;
}

/**
 * The metric's phase from its counters. `ended` = the window is over (or was cut short), so a
 * metric that is still Running becomes Inconclusive instead of waiting for more samples.
 */
export function assess(result: MetricResult, spec: MetricSpec, ended = false): { phase: AnalysisPhase; message: string } {
  const valid = result.successful + result.failed;
  if (result.consecutiveError > spec.consecutiveErrorLimit) {
    return { phase: "Error", message: `consecutive errors (${result.consecutiveError}) > consecutiveErrorLimit (${spec.consecutiveErrorLimit})` };
  }
  if (valid >= spec.minSamples && result.failed > spec.failureLimit) {
    return { phase: "Failed", message: `failed (${result.failed}) > failureLimit (${spec.failureLimit}) after ${valid} samples` };
  }
  if (result.inconclusive > spec.inconclusiveLimit) {
    return { phase: "Inconclusive", message: `inconclusive (${result.inconclusive}) > inconclusiveLimit (${spec.inconclusiveLimit})` };
  }
  if (result.count >= spec.count || ended) {
    if (valid < spec.minSamples && result.error > 0) {
      // Too few samples because the provider failed is "could not measure" (Error), not "nothing
      // to measure" (Inconclusive): a Prometheus that died mid-window must not pass as a warning.
      return {
        phase: "Error",
        message: `only ${valid} valid sample(s) of the ${spec.minSamples} required: ${result.error} measurement(s) failed (last: ${lastError(result) ?? "?"})`,
      };
    }
    if (valid < spec.minSamples) {
      return {
        phase: "Inconclusive",
        message: `only ${valid} valid sample(s) of the ${spec.minSamples} required (${result.count} measured, ${result.inconclusive} without data, ${result.error} errors)`,
      };
    }
    return {
      phase: "Successful",
      message: `${result.successful}/${valid} samples successful, failed (${result.failed}) <= failureLimit (${spec.failureLimit})`,
    };
  }
  if (result.count === 0) return { phase: "Pending", message: "no measurement yet" };
  return { phase: "Running", message: `${result.count}/${spec.count} measurements` };
}

function lastError(result: MetricResult): string | undefined {
  return [...result.measurements].reverse().find((m) => m.phase === "Error")?.message;
}

const SEVERITY: Record<AnalysisPhase, number> = { Successful: 0, Pending: 1, Running: 1, Inconclusive: 2, Error: 3, Failed: 4 };

/** The run takes the worst phase of its metrics (Argo). */
export function worstPhase(phases: readonly AnalysisPhase[]): AnalysisPhase {
  return phases.reduce<AnalysisPhase>((w, p) => (SEVERITY[p] > SEVERITY[w] ? p : w), "Successful");
}

/** Gate status of an analysis phase: could-not-measure fails like a bad measurement; undecided warns. */
export function gateStatusOf(phase: AnalysisPhase): "pass" | "fail" | "warn" {
  if (phase === "Successful") return "pass";
  if (phase === "Failed" || phase === "Error") return "fail";
  return "warn";
}
