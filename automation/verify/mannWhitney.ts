// Mann-Whitney U test (Wilcoxon rank-sum), as Kayenta's canary judge uses to compare a canary's
// samples with a baseline's. Pure. Normal approximation with tie correction and continuity
// correction: our sample counts (a window of 5–20 intervals) are past the point where the exact
// distribution matters for a go/no-go at alpha 0.05, and ties are common (error ratios of 0).

export type Alternative = "two-sided" | "greater" | "less";

export interface MannWhitneyResult {
  /** U of the first sample (x): how often an x beats a y, ties counting half. */
  u: number;
  /** U of the second sample: n1·n2 − u. */
  uOther: number;
  /** Standardised statistic (with continuity correction); 0 when every value is tied. */
  z: number;
  /** p-value for the chosen alternative. */
  p: number;
  n1: number;
  n2: number;
  alternative: Alternative;
}

/** Ranks 1..n with tied values sharing their average rank; returns ranks and Σ(t³ − t) over tie groups. */
export function rankWithTies(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && order[end]!.v === order[start]!.v) end++;
    const t = end - start;
    // Positions start..end-1 hold ranks start+1..end; their mean is (start+1+end)/2.
    const avg = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!.i] = avg;
    if (t > 1) tieTerm += t * t * t - t;
    start = end;
  }
  return { ranks, tieTerm };
}

/**
 * Tests whether x tends to be larger ("greater"), smaller ("less") or different from y.
 * Throws on empty samples or non-finite values: callers filter those first (a sample is a number).
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[], alternative: Alternative = "two-sided"): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError(`Mann-Whitney needs two non-empty samples (got ${n1} and ${n2})`);
  if (![...x, ...y].every(Number.isFinite)) throw new RangeError("Mann-Whitney samples must be finite numbers");
  const { ranks, tieTerm } = rankWithTies([...x, ...y]);
  const r1 = ranks.slice(0, n1).reduce((a, b) => a + b, 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const uOther = n1 * n2 - u;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, uOther, z: 0, p: 1, n1, n2, alternative };
  const sd = Math.sqrt(variance);
  let z: number;
  let p: number;
  if (alternative === "greater") {
    z = (u - mean - 0.5) / sd;
    p = 1 - normalCdf(z);
  } else if (alternative === "less") {
    z = (u - mean + 0.5) / sd;
    p = normalCdf(z);
  } else {
    z = Math.max(0, Math.abs(u - mean) - 0.5) / sd;
    p = Math.min(1, 2 * (1 - normalCdf(z)));
  }
  return { u, uOther, z, p, n1, n2, alternative };
}

/** Standard normal CDF through erf. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/** erf by Abramowitz & Stegun 7.1.26: accurate to 1.5e-7, ample for p-values compared with 0.05. */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign * (1 - poly * Math.exp(-ax * ax));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
