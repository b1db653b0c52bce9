// The sample gates' verdict: latency bound, early decisions, the end of a sample.
import { describe, expect, it } from "vitest";
import { planErrorSample } from "../../automation/verify/sampleSize.js";
import { decidedFailure, judgeSample, latencyBound, slowRequestsToFail } from "../../automation/verify/sampleVerdict.js";

const PLAN = planErrorSample({ detectErrorRatio: 0.1, healthyErrorRatio: 0.01, confidence: 0.99 }); // 113, > 4 fails
const LIMITS = { absoluteMs: 1000, increaseMs: 250, increaseRatio: 0.5 };
const tally = (latenciesMs: number[], errors = 0) => ({ done: latenciesMs.length, errors, latenciesMs });

describe("latencyBound", () => {
  it("absolute without a baseline", () => {
    expect(latencyBound(LIMITS)).toEqual({ maxP95Ms: 1000, basis: "absolute 1000ms" });
  });
  it("a fast baseline gets the floor in milliseconds, a slow one the ratio, never above the absolute bound", () => {
    expect(latencyBound(LIMITS, 5).maxP95Ms).toBe(255);
    expect(latencyBound(LIMITS, 600).maxP95Ms).toBe(900);
    expect(latencyBound(LIMITS, 800)).toEqual({ maxP95Ms: 1000, basis: "absolute 1000ms" });
    expect(latencyBound(LIMITS, 5).basis).toMatch(/^baseline p95 5ms/);
  });
});

describe("decidedFailure", () => {
  const bound = { maxP95Ms: 255, basis: "test" };
  it("p95 over the bound is certain once more requests than the top 5 % are slower", () => {
    expect(slowRequestsToFail(113)).toBe(6);
    expect(slowRequestsToFail(20)).toBe(2);
    expect(decidedFailure(tally([1600, 1600, 1600, 1600, 1600]), PLAN, bound)).toBeUndefined();
    expect(decidedFailure(tally([1600, 1600, 1600, 1600, 1600, 1600]), PLAN, bound)).toBe("latency");
  });
  it("errors beyond the tolerated count decide at once", () => {
    expect(decidedFailure(tally([1, 1, 1, 1], 4), PLAN, bound)).toBeUndefined();
    expect(decidedFailure(tally([1, 1, 1, 1, 1], 5), PLAN, bound)).toBe("errors");
  });
});

describe("judgeSample", () => {
  const bound = { maxP95Ms: 255, basis: "test" };
  const healthy = Array.from({ length: 113 }, (_, i) => 5 + (i % 10));
  it("a complete healthy sample passes, with up to maxErrors errors and up to 5 slow requests", () => {
    expect(judgeSample(tally(healthy), PLAN, bound)).toMatchObject({ status: "pass", p95Ms: 14 });
    const slowFive = [...healthy.slice(5), 2000, 2000, 2000, 2000, 2000];
    expect(judgeSample(tally(slowFive, 4), PLAN, bound)).toMatchObject({ status: "pass" });
  });
  it("fails on errors, on latency, and when the sample was cut short", () => {
    expect(judgeSample(tally(healthy, 5), PLAN, bound)).toMatchObject({ status: "fail", failure: "errors", message: expect.stringMatching(/^5\/113 failed/) });
    const slow = [...healthy.slice(6), 2000, 2000, 2000, 2000, 2000, 2000];
    expect(judgeSample(tally(slow), PLAN, bound)).toMatchObject({ status: "fail", failure: "latency", p95Ms: 2000 });
    expect(judgeSample(tally(healthy.slice(0, 50)), PLAN, bound)).toMatchObject({ status: "fail", message: expect.stringMatching(/cut short: 50 of 113/) });
  });
});
