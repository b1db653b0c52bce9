// How many requests a sample gate sends and how many errors it tolerates, from the binomial
// distribution. Pure. A gate that fails on the first error would need only ⌈ln 0.01 / ln 0.9⌉ = 44
// requests to catch a 10 % error rate, but one dropped connection would fail an upgrade; so the
// plan fixes both error probabilities instead: a service failing `detectErrorRatio` of its
// requests is caught with probability ≥ `confidence`, and one failing `healthyErrorRatio` passes
// with probability ≥ `confidence`.

export interface ErrorSampleSpec {
  /** Error ratio the gate must catch (e.g. 0.1). */
  detectErrorRatio: number;
  /** Error ratio of a healthy service, which must pass (e.g. 0.01). */
  healthyErrorRatio: number;
  /** Probability of catching the one and passing the other (e.g. 0.99). */
  confidence: number;
}

export interface ErrorSamplePlan {
  /** Requests to send. */
  requests: number;
  /** The gate fails when more requests than this fail. */
  maxErrors: number;
  /** P(errors > maxErrors | healthyErrorRatio): a healthy service failing the gate. */
  falsePositive: number;
  /** P(errors ≤ maxErrors | detectErrorRatio): a failing service passing it. */
  falseNegative: number;
}

/** No plan sends more; the config schema's ranges keep every valid spec well below it. */
export const MAX_SAMPLE_REQUESTS = 5000;

/** P(X ≤ k) for X ~ Binomial(n, p), summed in log space so large n does not underflow the first term. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n || p <= 0) return 1;
  if (p >= 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let logTerm = n * lq;
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i) + lp - lq;
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}

/**
 * The smallest sample (and, for it, the smallest tolerated error count) meeting both error
 * probabilities. Throws for a spec that cannot be met within MAX_SAMPLE_REQUESTS.
 */
export function planErrorSample(spec: ErrorSampleSpec): ErrorSamplePlan {
  const { detectErrorRatio: bad, healthyErrorRatio: good, confidence } = spec;
  if (!(bad > good) || !(confidence > 0 && confidence < 1)) {
    throw new Error(`cannot plan a sample: need healthyErrorRatio (${good}) < detectErrorRatio (${bad}) and 0 < confidence (${confidence}) < 1`);
  }
  const risk = 1 - confidence;
  for (let n = 1; n <= MAX_SAMPLE_REQUESTS; n++) {
    // Raising the tolerated count lowers the false-positive rate and raises the false-negative
    // one: the first count that passes a healthy service often enough is the best for this n.
    for (let c = 0; c < n; c++) {
      const falseNegative = binomialCdf(c, n, bad);
      if (falseNegative > risk) break;
      const falsePositive = 1 - binomialCdf(c, n, good);
      if (falsePositive <= risk) return { requests: n, maxErrors: c, falsePositive, falseNegative };
    }
  }
  throw new Error(`cannot plan a sample: telling ${good} from ${bad} errors with confidence ${confidence} needs more than ${MAX_SAMPLE_REQUESTS} requests`);
}

/** 1-based rank of the nearest-rank p-quantile in a sample of n (p95 of 113 → the 108th smallest). */
export function quantileRank(n: number, q: number): number {
  return Math.max(1, Math.ceil(q * n));
}

/** Nearest-rank quantile (no interpolation: the value is one the sample really saw). */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[quantileRank(sorted.length, q) - 1];
}
