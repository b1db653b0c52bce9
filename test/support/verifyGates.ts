// Gate settings and lookups the verification-suite tests share.
import type { GateResult } from "../../core/types.js";

/** Fast retries (the stack defaults wait seconds between attempts). */
export const FAST_GATES = { retries: 3, backoffSeconds: 0.2, checkTimeoutSeconds: 5 } as const;

/**
 * Short metric windows so a gate takes seconds: 4 samples 1 s apart over 2 s rate windows. The
 * latency floor of the relative comparison is raised because on a loaded 2-core test machine the
 * endpoint server's event-loop lag moves healthy p95s by tens of milliseconds.
 */
export const METRIC_TEST_GATES = {
  ...FAST_GATES,
  observationWindowSeconds: 4,
  intervalSeconds: 1,
  rateWindowSeconds: 2,
  minRequests: 5,
  maxP95LatencyMs: 1000,
  maxErrorRatio: 0.01,
  failureLimit: 0,
  // 3 of 4: a failure is decided after 3 valid samples, the least the Mann-Whitney comparison works with.
  minSamples: 3,
  mannWhitney: { minLatencyDeltaMs: 300 },
};

export function byName(results: GateResult[], name: string): GateResult {
  const r = results.find((g) => g.name === name);
  if (!r) throw new Error(`no gate ${name} in ${results.map((g) => g.name).join(", ")}`);
  return r;
}
