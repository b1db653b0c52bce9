// The verdict of a sample gate from what its requests saw. Pure: the error count against the
// plan's tolerated count (sampleSize.ts), the nearest-rank p95 against a latency bound. A verdict
// is final as soon as the requests still to come could not change it, so a broken service is
// judged after a handful of requests instead of the whole sample. A latency failure may be judged
// again on a confirmation sample (judgeConfirmed).
import { type ErrorSamplePlan, quantile, quantileRank } from "./sampleSize.js";

/** What the requests of a sample saw so far. */
export interface SampleTally {
  /** Requests answered or given up on. */
  done: number;
  /** Requests that did not end in a 200 (5xx, other statuses, refused, timed out). */
  errors: number;
  /** Per finished request, the time it took; a request that timed out counts its timeout. */
  latenciesMs: number[];
}

export interface LatencyBound {
  maxP95Ms: number;
  /** How the bound was set, for the message and evidence. */
  basis: string;
}

export interface LatencyLimits {
  /** Never more than this, baseline or not. */
  absoluteMs: number;
  /** With a baseline: its p95 plus max(increaseMs, increaseRatio × its p95). */
  increaseMs: number;
  increaseRatio: number;
}

/**
 * The p95 bound: the absolute one, tightened to the pre-upgrade p95 plus the allowed increase when
 * a baseline exists. The increase has a floor in milliseconds because a fast service's p95 (a few
 * ms) times a ratio would make network jitter fail the gate.
 */
export function latencyBound(limits: LatencyLimits, baselineP95Ms?: number): LatencyBound {
  const absolute: LatencyBound = { maxP95Ms: limits.absoluteMs, basis: `absolute ${limits.absoluteMs}ms` };
  if (baselineP95Ms === undefined || !Number.isFinite(baselineP95Ms)) return absolute;
  const relative = baselineP95Ms + Math.max(limits.increaseMs, limits.increaseRatio * baselineP95Ms);
  if (relative >= limits.absoluteMs) return absolute;
  return {
    maxP95Ms: round(relative),
    basis: `baseline p95 ${round(baselineP95Ms)}ms + max(${limits.increaseMs}ms, ${limits.increaseRatio} × baseline)`,
  };
}

/** Requests over the bound that put the p95 of `requests` over it, whatever the others do. */
export function slowRequestsToFail(requests: number): number {
  return requests - quantileRank(requests, 0.95) + 1;
}

export type SampleFailure = "errors" | "latency";

/** Requests of the tally over the bound. */
function slowRequests(t: SampleTally, bound: LatencyBound): number {
  return t.latenciesMs.filter((ms) => ms > bound.maxP95Ms).length;
}

/** Why the sample fails already, before its last request, or undefined while it could still pass. */
export function decidedFailure(t: SampleTally, plan: ErrorSamplePlan, bound: LatencyBound): SampleFailure | undefined {
  if (t.errors > plan.maxErrors) return "errors";
  if (slowRequests(t, bound) >= slowRequestsToFail(plan.requests)) return "latency";
  return undefined;
}

export interface SampleVerdict {
  status: "pass" | "fail";
  failure?: SampleFailure;
  message: string;
  p95Ms?: number;
}

/** The verdict once the sample is complete or a failure is decided. */
export function judgeSample(t: SampleTally, plan: ErrorSamplePlan, bound: LatencyBound): SampleVerdict {
  const p95Ms = sampleP95(t);
  const errors = errorCount(t, plan);
  const failure = decidedFailure(t, plan, bound);
  if (failure === "errors") return { status: "fail", failure, message: `${errors}`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
  if (failure === "latency") {
    return {
      status: "fail",
      failure,
      message: `p95 over ${bound.maxP95Ms}ms (${bound.basis}): ${slowCount(t, plan, bound)}; ${errors}`,
      ...(p95Ms !== undefined ? { p95Ms } : {}),
    };
  }
  if (t.done < plan.requests) {
    return { status: "fail", message: `sample cut short: ${t.done} of ${plan.requests} requests done; ${errors}`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
  }
  return { status: "pass", message: `${errors}; p95 ${p95Ms}ms <= ${bound.maxP95Ms}ms (${bound.basis})`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
}

/**
 * The verdict on a sample that failed on latency, judged again on a confirmation sample of the
 * same plan and bound taken `pauseMs` later. Latency on a busy node comes in bursts, and one
 * sample can land in one: the failure stands only if the confirmation fails too, on latency or on
 * errors. A confirmation that ends short (aborted, or answered mostly by old pods) does not
 * overturn it. Any other first verdict is returned as it is: errors are never re-checked.
 */
export function judgeConfirmed(first: SampleTally, confirmation: SampleTally, plan: ErrorSamplePlan, bound: LatencyBound, pauseMs: number): SampleVerdict {
  const firstVerdict = judgeSample(first, plan, bound);
  if (firstVerdict.failure !== "latency") return firstVerdict;
  const second = judgeSample(confirmation, plan, bound);
  const p95 = sampleP95(confirmation);
  const head = `p95 over ${bound.maxP95Ms}ms (${bound.basis}) in the first sample: ${slowCount(first, plan, bound)}, p95 ${sampleP95(first)}ms, ${first.errors}/${first.done} failed`;
  const later = `confirmation sample ${round(pauseMs / 1000)}s later`;
  const errors = errorCount(confirmation, plan);
  // The confirmation decides: its status, failure and p95 are the verdict's.
  const slow = slowCount(confirmation, plan, bound);
  if (second.status === "pass") return { ...second, message: `${head}; ${later} passed: p95 ${p95}ms <= ${bound.maxP95Ms}ms, ${errors}` };
  if (second.failure === "latency") return { ...second, message: `${head}; ${later} over it too: ${slow}, p95 ${p95}ms, ${errors}` };
  if (second.failure === "errors") return { ...second, message: `${head}; ${later} failed on errors: ${errors}` };
  return {
    ...firstVerdict,
    message: `${head}; ${later} cut short: ${confirmation.done} of ${plan.requests} requests done, so the first sample's failure stands`,
  };
}

/** The p95 of the tally, rounded; undefined without a finished request. */
function sampleP95(t: SampleTally): number | undefined {
  const p95 = quantile(t.latenciesMs, 0.95);
  return p95 === undefined ? undefined : round(p95);
}

function errorCount(t: SampleTally, plan: ErrorSamplePlan): string {
  return `${t.errors}/${t.done} failed (at most ${plan.maxErrors} of ${plan.requests} allowed)`;
}

function slowCount(t: SampleTally, plan: ErrorSamplePlan, bound: LatencyBound): string {
  return `${slowRequests(t, bound)} of ${plan.requests} requests slower, ${slowRequestsToFail(plan.requests)} decide it`;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
