// The sample gates' size and error threshold: exact binomial values, worked by hand or by direct
// summation of the probability mass function.
import { describe, expect, it } from "vitest";
import { binomialCdf, MAX_SAMPLE_REQUESTS, planErrorSample, quantile, quantileRank } from "../../automation/verify/sampleSize.js";

/** P(X ≤ k) by summing C(n, i) pᶦ (1−p)ⁿ⁻ⁱ with exact binomial coefficients (small n only). */
function directCdf(k: number, n: number, p: number): number {
  let sum = 0;
  let coef = 1;
  for (let i = 0; i <= k; i++) {
    if (i > 0) coef = (coef * (n - i + 1)) / i;
    sum += coef * p ** i * (1 - p) ** (n - i);
  }
  return sum;
}

describe("binomialCdf", () => {
  it("matches hand-computed values", () => {
    expect(binomialCdf(5, 10, 0.5)).toBeCloseTo(638 / 1024, 12);
    // The first-error gate: 0 failures in 44 requests at 10 % happens 0.9^44 = 0.97 % of the time.
    expect(binomialCdf(0, 44, 0.1)).toBeCloseTo(0.9 ** 44, 12);
    expect(binomialCdf(0, 43, 0.1)).toBeGreaterThan(0.01);
    expect(binomialCdf(-1, 10, 0.5)).toBe(0);
    expect(binomialCdf(10, 10, 0.5)).toBe(1);
    expect(binomialCdf(3, 10, 0)).toBe(1);
  });

  it("agrees with direct summation", () => {
    for (const [k, n, p] of [
      [4, 113, 0.1],
      [4, 113, 0.01],
      [8, 170, 0.02],
      [0, 1, 0.3],
    ] as const)
      expect(binomialCdf(k, n, p)).toBeCloseTo(directCdf(k, n, p), 12);
  });

  it("does not underflow for large samples", () => {
    // 0.95^2148 ≈ 1e-48: still a number, and the CDF near the mean is sensible.
    expect(binomialCdf(107, 2148, 0.05)).toBeGreaterThan(0.4);
    expect(binomialCdf(107, 2148, 0.05)).toBeLessThan(0.6);
  });
});

describe("planErrorSample", () => {
  it("the defaults: 113 requests, fail above 4 errors; 10 % caught and 1 % passed, each with ≥ 99 %", () => {
    const plan = planErrorSample({ detectErrorRatio: 0.1, healthyErrorRatio: 0.01, confidence: 0.99 });
    expect(plan).toMatchObject({ requests: 113, maxErrors: 4 });
    expect(plan.falseNegative).toBeCloseTo(binomialCdf(4, 113, 0.1), 12);
    expect(plan.falseNegative).toBeLessThanOrEqual(0.01);
    expect(plan.falsePositive).toBeCloseTo(1 - binomialCdf(4, 113, 0.01), 12);
    expect(plan.falsePositive).toBeLessThanOrEqual(0.01);
    // A healthier service passes even more often.
    expect(1 - binomialCdf(4, 113, 0.005)).toBeLessThan(plan.falsePositive);
  });

  it("is the smallest sample: no threshold works with one request fewer", () => {
    const n = 112;
    const works = Array.from({ length: n }, (_, c) => c).some((c) => binomialCdf(c, n, 0.1) <= 0.01 && 1 - binomialCdf(c, n, 0.01) <= 0.01);
    expect(works).toBe(false);
  });

  it("with no error tolerated for a healthy service it is the first-error gate: 44 requests, 0 errors", () => {
    expect(planErrorSample({ detectErrorRatio: 0.1, healthyErrorRatio: 0, confidence: 0.99 })).toMatchObject({ requests: 44, maxErrors: 0 });
  });

  it("stricter settings need more requests", () => {
    expect(planErrorSample({ detectErrorRatio: 0.1, healthyErrorRatio: 0.02, confidence: 0.99 })).toMatchObject({ requests: 170, maxErrors: 8 });
    expect(planErrorSample({ detectErrorRatio: 0.1, healthyErrorRatio: 0.01, confidence: 0.999 })).toMatchObject({ requests: 190, maxErrors: 7 });
  });

  it("the worst corner the config schema allows stays under the cap", () => {
    const plan = planErrorSample({ detectErrorRatio: 0.05, healthyErrorRatio: 0.025, confidence: 0.999 });
    expect(plan.requests).toBe(2148);
    expect(plan.requests).toBeLessThan(MAX_SAMPLE_REQUESTS);
  });

  it("refuses rates it cannot tell apart", () => {
    expect(() => planErrorSample({ detectErrorRatio: 0.01, healthyErrorRatio: 0.01, confidence: 0.99 })).toThrow(/healthyErrorRatio/);
    expect(() => planErrorSample({ detectErrorRatio: 0.011, healthyErrorRatio: 0.01, confidence: 0.99 })).toThrow(/more than 5000 requests/);
  });
});

describe("quantile", () => {
  it("nearest rank, no interpolation", () => {
    expect(quantileRank(113, 0.95)).toBe(108);
    expect(quantileRank(20, 0.95)).toBe(19);
    expect(quantileRank(1, 0.95)).toBe(1);
    const values = Array.from({ length: 113 }, (_, i) => 113 - i);
    expect(quantile(values, 0.95)).toBe(108);
    expect(quantile([], 0.95)).toBeUndefined();
  });
});
