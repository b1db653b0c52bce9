// The sample gates' verdict: latency bound, early decisions, the end of a sample, a latency
// failure judged again on a confirmation sample.
import { describe, expect, it } from "vitest";
import { planErrorSample } from "../../automation/verify/sampleSize.js";
import { decidedFailure, judgeConfirmed, judgeSample, latencyBound, slowRequestsToFail } from "../../automation/verify/sampleVerdict.js";

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

describe("judgeConfirmed", () => {
  const bound = { maxP95Ms: 255, basis: "test" };
  const healthy = Array.from({ length: 113 }, (_, i) => 5 + (i % 10));
  // Decided early: six requests over the bound after nine.
  const burst = tally([2000, 2000, 2000, 5, 2000, 2000, 6, 2000, 7]);

  it("a confirmation that passes overturns the latency failure; the message gives both samples", () => {
    const v = judgeConfirmed(burst, tally(healthy), PLAN, bound, 1000);
    expect(v).toEqual({
      status: "pass",
      p95Ms: 14,
      message:
        "p95 over 255ms (test) in the first sample: 6 of 113 requests slower, 6 decide it, p95 2000ms, 0/9 failed; " +
        "confirmation sample 1s later passed: p95 14ms <= 255ms, 0/113 failed (at most 4 of 113 allowed)",
    });
  });

  it("a confirmation over the bound too fails on latency, with both figures", () => {
    const v = judgeConfirmed(burst, tally([2000, 2000, 2000, 2000, 2000, 2000, 2000]), PLAN, bound, 30_000);
    expect(v).toMatchObject({ status: "fail", failure: "latency", p95Ms: 2000 });
    expect(v.message).toBe(
      "p95 over 255ms (test) in the first sample: 6 of 113 requests slower, 6 decide it, p95 2000ms, 0/9 failed; " +
        "confirmation sample 30s later over it too: 7 of 113 requests slower, 6 decide it, p95 2000ms, 0/7 failed (at most 4 of 113 allowed)",
    );
  });

  it("a confirmation failing on errors fails on errors", () => {
    expect(judgeConfirmed(burst, tally([5, 5, 5, 5, 5], 5), PLAN, bound, 1000)).toMatchObject({
      status: "fail",
      failure: "errors",
      message: expect.stringMatching(/; confirmation sample 1s later failed on errors: 5\/5 failed \(at most 4 of 113 allowed\)$/),
    });
  });

  it("a confirmation cut short (aborted, old pods) leaves the first failure standing", () => {
    expect(judgeConfirmed(burst, tally(healthy.slice(0, 40)), PLAN, bound, 1000)).toMatchObject({
      status: "fail",
      failure: "latency",
      p95Ms: 2000,
      message: expect.stringMatching(/; confirmation sample 1s later cut short: 40 of 113 requests done, so the first sample's failure stands$/),
    });
  });

  it("any other first verdict is returned as it is: errors are never re-checked", () => {
    const errors = tally(healthy, 5);
    expect(judgeConfirmed(errors, tally(healthy), PLAN, bound, 1000)).toEqual(judgeSample(errors, PLAN, bound));
    expect(judgeConfirmed(tally(healthy), tally([]), PLAN, bound, 1000)).toEqual(judgeSample(tally(healthy), PLAN, bound));
  });
});
