// The verdict of a sample gate from what its requests saw. Pure: the error count against the
// plan's tolerated count (sampleSize.ts), the nearest-rank p95 against a latency bound. A verdict
// is final as soon as the requests still to come could not change it, so a broken service is
// judged after a handful of requests instead of the whole sample.
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

/** Why the sample fails already, before its last request, or undefined while it could still pass. */
export function decidedFailure(t: SampleTally, plan: ErrorSamplePlan, bound: LatencyBound): SampleFailure | undefined {
  if (t.errors > plan.maxErrors) return "errors";
  if (t.latenciesMs.filter((ms) => ms > bound.maxP95Ms).length >= slowRequestsToFail(plan.requests)) return "latency";
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
  const p95 = quantile(t.latenciesMs, 0.95);
  const p95Ms = p95 === undefined ? undefined : round(p95);
  const errors = `${t.errors}/${t.done} failed (at most ${plan.maxErrors} of ${plan.requests} allowed)`;
  const failure = decidedFailure(t, plan, bound);
  if (failure === "errors") return { status: "fail", failure, message: `${errors}`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
  if (failure === "latency") {
    const slow = t.latenciesMs.filter((ms) => ms > bound.maxP95Ms).length;
    return {
      status: "fail",
      failure,
      message: `p95 over ${bound.maxP95Ms}ms (${bound.basis}): ${slow} of ${plan.requests} requests slower, ${slowRequestsToFail(plan.requests)} decide it; ${errors}`,
      ...(p95Ms !== undefined ? { p95Ms } : {}),
    };
  }
  if (t.done < plan.requests) {
    return { status: "fail", message: `sample cut short: ${t.done} of ${plan.requests} requests done; ${errors}`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
  }
  return { status: "pass", message: `${errors}; p95 ${p95Ms}ms <= ${bound.maxP95Ms}ms (${bound.basis})`, ...(p95Ms !== undefined ? { p95Ms } : {}) };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
