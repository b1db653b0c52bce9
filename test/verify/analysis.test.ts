// The AnalysisTemplate-like evaluation: pure verdicts over counters, and the window rule (no
// decision from fewer samples than configured).
import { describe, expect, it } from "vitest";
import { assess, emptyResult, evaluateValue, record, worstPhase, gateStatusOf, type Measurement, type MetricSpec } from "../../automation/verify/analysis.js";
import { compareWithBaseline, metricSpec, observe, resolveGates } from "../../automation/verify/metricGates.js";

const spec: MetricSpec = {
  name: "metric:error-ratio:l4",
  intervalMs: 10,
  count: 5,
  successCondition: { op: "<=", value: 0.01 },
  failureLimit: 1,
  inconclusiveLimit: 5,
  consecutiveErrorLimit: 2,
  minSamples: 4,
};
const m = (phase: Measurement["phase"], value?: number): Measurement => ({
  phase,
  ...(value !== undefined ? { value } : {}),
  startedAt: "2026-01-01T00:00:00Z",
});
const feed = (phases: Measurement[]) => phases.reduce(record, emptyResult(spec.name));

describe("evaluateValue", () => {
  it("no data is Inconclusive, never a pass", () => {
    expect(evaluateValue(undefined, spec).phase).toBe("Inconclusive");
    expect(evaluateValue(NaN, spec).phase).toBe("Inconclusive");
  });
  it("without failureCondition, not successful is Failed; with one, the gap is Inconclusive", () => {
    expect(evaluateValue(0.005, spec).phase).toBe("Successful");
    expect(evaluateValue(0.1, spec)).toMatchObject({ phase: "Failed", message: "0.1 does not meet result <= 0.01" });
    const both = { successCondition: { op: "<=" as const, value: 0.01 }, failureCondition: { op: ">" as const, value: 0.05 } };
    expect(evaluateValue(0.03, both).phase).toBe("Inconclusive");
    expect(evaluateValue(0.06, both).phase).toBe("Failed");
  });
});

describe("assess", () => {
  it("decides nothing before minSamples valid samples, even when they fail", () => {
    const r = feed([m("Failed", 0.2), m("Failed", 0.2), m("Failed", 0.2)]);
    expect(assess(r, spec).phase).toBe("Running");
  });
  it("fails once minSamples are in and failed > failureLimit, naming both", () => {
    const r = feed([m("Failed", 0.2), m("Failed", 0.2), m("Successful", 0), m("Successful", 0)]);
    expect(assess(r, spec)).toEqual({ phase: "Failed", message: "failed (2) > failureLimit (1) after 4 samples" });
  });
  it("tolerates failures up to failureLimit and succeeds at count", () => {
    const r = feed([m("Failed", 0.2), m("Successful", 0), m("Successful", 0), m("Successful", 0), m("Successful", 0)]);
    expect(assess(r, spec).phase).toBe("Successful");
  });
  it("a window that ends with too few valid samples is Inconclusive", () => {
    const r = feed([m("Successful", 0), m("Inconclusive"), m("Inconclusive"), m("Successful", 0), m("Successful", 0)]);
    expect(assess(r, spec)).toMatchObject({ phase: "Inconclusive" });
    expect(assess(r, spec).message).toMatch(/only 3 valid sample\(s\) of the 4 required/);
    // cut short (aborted) after two good samples: still no pass
    expect(assess(feed([m("Successful", 0), m("Successful", 0)]), spec, true).phase).toBe("Inconclusive");
  });
  it("a window short of samples because measuring failed is Error, not Inconclusive", () => {
    const r = feed([m("Successful", 0), m("Successful", 0), { ...m("Error"), message: "Prometheus did not answer" }, m("Inconclusive"), m("Successful", 0)]);
    expect(assess(r, spec)).toEqual({
      phase: "Error",
      message: "only 3 valid sample(s) of the 4 required: 1 measurement(s) failed (last: Prometheus did not answer)",
    });
  });
  it("consecutive errors beyond the limit are Error", () => {
    const r = feed([m("Successful", 0), m("Error"), m("Error"), m("Error")]);
    expect(assess(r, spec)).toEqual({ phase: "Error", message: "consecutive errors (3) > consecutiveErrorLimit (2)" });
    expect(feed([m("Error"), m("Error"), m("Successful", 0)]).consecutiveError).toBe(0);
  });
  it("worst phase and gate status", () => {
    expect(worstPhase(["Successful", "Inconclusive", "Failed", "Error"])).toBe("Failed");
    expect(worstPhase(["Successful", "Successful"])).toBe("Successful");
    expect(gateStatusOf("Error")).toBe("fail");
    expect(gateStatusOf("Inconclusive")).toBe("warn");
  });
});

describe("observe (the window runner)", () => {
  it("takes exactly count measurements when healthy and does not stop early", async () => {
    let calls = 0;
    const r = await observe(spec, async () => (calls++, m("Successful", 0)));
    expect(calls).toBe(5);
    expect(r.phase).toBe("Successful");
  });
  it("stops early only on a decided failure (after minSamples)", async () => {
    let calls = 0;
    const r = await observe(spec, async () => (calls++, m("Failed", 1)));
    expect(calls).toBe(4);
    expect(r.phase).toBe("Failed");
  });
  it("an aborted window gives Inconclusive, not a verdict", async () => {
    const ac = new AbortController();
    let calls = 0;
    const r = await observe(
      spec,
      async () => {
        if (++calls === 2) ac.abort();
        return m("Failed", 1);
      },
      { signal: ac.signal },
    );
    expect(calls).toBe(2);
    expect(r.phase).toBe("Inconclusive");
  });
});

describe("metric spec from the stack's gates", () => {
  it("count = window / interval, minSamples defaults to half of it", () => {
    const gates = resolveGates({});
    const s = metricSpec("p95-latency", "l4", gates);
    expect(s).toMatchObject({
      name: "metric:p95-latency:l4",
      count: 10,
      minSamples: 5,
      initialDelayMs: 60_000,
      intervalMs: 30_000,
      failureLimit: 0,
      successCondition: { op: "<=", value: 2000 },
    });
    expect(metricSpec("error-ratio", "l4", resolveGates({ minSamples: 3, observationWindowSeconds: 60, intervalSeconds: 20 }))).toMatchObject({
      count: 3,
      minSamples: 3,
    });
  });
});

describe("compareWithBaseline", () => {
  const gates = resolveGates({});
  it("flags a significantly and materially worse canary", () => {
    const c = compareWithBaseline("error-ratio", [0.1, 0.1, 0.11, 0.09, 0.1], [0, 0, 0.001, 0, 0], gates);
    expect(c.status).toBe("fail");
    expect(c.p).toBeLessThan(0.05);
    expect(c.message).toMatch(/worse than baseline/);
  });
  it("ignores differences below the floor (noise on tiny latencies)", () => {
    expect(compareWithBaseline("p95-latency", [5, 5.1, 5.2, 5.3], [4, 4.1, 4.2, 4.3], gates).status).toBe("pass");
  });
  it("skips without enough samples or without a baseline", () => {
    expect(compareWithBaseline("p95-latency", [5, 6], [4, 4, 4], gates).status).toBe("skipped");
    expect(compareWithBaseline("p95-latency", [5, 6, 7], undefined, gates).status).toBe("skipped");
  });
  it("only warns when not enforced", () => {
    const g = resolveGates({ mannWhitney: { enforce: false } });
    expect(compareWithBaseline("p95-latency", [1900, 1950, 1980, 1990], [5, 5, 6, 5], g).status).toBe("warn");
  });
});
