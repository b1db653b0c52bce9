// Mann-Whitney U against values computed by hand (ranks, U, tie-corrected variance, z, p).
import { describe, expect, it } from "vitest";
import { erf, mannWhitneyU, median, normalCdf, rankWithTies } from "../../automation/verify/mannWhitney.js";

describe("rankWithTies", () => {
  it("gives tied values their average rank and sums t³−t over tie groups", () => {
    // sorted: 1 | 2 2 2 | 3 3 | 4 → ranks 1 | 3 3 3 | 5.5 5.5 | 7; ties: (27−3) + (8−2) = 30
    const { ranks, tieTerm } = rankWithTies([1, 2, 2, 3, 2, 3, 4]);
    expect(ranks).toEqual([1, 3, 3, 5.5, 3, 5.5, 7]);
    expect(tieTerm).toBe(30);
  });
});

describe("normal CDF", () => {
  it("matches table values", () => {
    expect(erf(0)).toBeCloseTo(0, 7);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 5);
  });
});

describe("mannWhitneyU", () => {
  it("separated samples, no ties: x=[1,2,3] y=[4,5,6]", () => {
    // R1 = 1+2+3 = 6, U1 = 6 − 3·4/2 = 0, U2 = 9; mean 4.5, var = 9/12·7 = 5.25 (sd 2.29129)
    // less: z = (0 − 4.5 + 0.5)/2.29129 = −1.74574, p = Φ(−1.74574) = 0.040434
    const r = mannWhitneyU([1, 2, 3], [4, 5, 6], "less");
    expect(r.u).toBe(0);
    expect(r.uOther).toBe(9);
    expect(r.z).toBeCloseTo(-1.74574, 4);
    expect(r.p).toBeCloseTo(0.040434, 4);
    // greater is the mirror image: p = 1 − Φ((0 − 4.5 − 0.5)/2.29129) = 1 − Φ(−2.18218) = 0.98545
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6], "greater").p).toBeCloseTo(0.98545, 4);
    expect(mannWhitneyU([4, 5, 6], [1, 2, 3], "greater").p).toBeCloseTo(0.040434, 4);
  });

  it("with ties: x=[1,2,2,3] y=[2,3,4]", () => {
    // ranks x: 1, 3, 3, 5.5 → R1 = 12.5, U1 = 12.5 − 10 = 2.5, U2 = 9.5
    // T = 30, n = 7: var = 12/12 · (8 − 30/42) = 7.285714 (sd 2.699206); mean 6
    // two-sided: z = (|2.5 − 6| − 0.5)/2.699206 = 1.111438, p = 2(1 − Φ(1.111438)) = 0.266385
    const r = mannWhitneyU([1, 2, 2, 3], [2, 3, 4]);
    expect(r.u).toBe(2.5);
    expect(r.uOther).toBe(9.5);
    expect(r.z).toBeCloseTo(1.111438, 4);
    expect(r.p).toBeCloseTo(0.266385, 4);
  });

  it("canary error ratios against an all-zero baseline (the -errors10 case)", () => {
    // x all 0.1, y all 0: U1 = 16; ties: 4 zeros and 4 × 0.1 → T = 60 + 60 = 120; n = 8
    // var = 16/12 · (9 − 120/56) = 9.142857 (sd 3.023716); z = (16 − 8 − 0.5)/3.023716 = 2.480392
    // p = 1 − Φ(2.480392) = 0.006561
    const r = mannWhitneyU([0.1, 0.1, 0.1, 0.1], [0, 0, 0, 0], "greater");
    expect(r.u).toBe(16);
    expect(r.z).toBeCloseTo(2.480392, 4);
    expect(r.p).toBeCloseTo(0.006561, 4);
  });

  it("every value tied: no evidence either way (p = 1)", () => {
    const r = mannWhitneyU([0, 0, 0], [0, 0, 0], "greater");
    expect(r.p).toBe(1);
    expect(r.z).toBe(0);
  });

  it("rejects empty or non-finite samples", () => {
    expect(() => mannWhitneyU([], [1])).toThrow(/non-empty/);
    expect(() => mannWhitneyU([NaN], [1])).toThrow(/finite/);
  });

  it("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
