// Prometheus checks and metric gates against a real Prometheus server scraping the simulator.
// Skipped, with the reason in the suite name, where Prometheus is not installed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureBaseline, PrometheusClient, runVerification, type Baseline } from "../../automation/verify/index.js";
import type { GateResult } from "../../automation/types.js";
import { FAST_GATES, simControl, startFleet, upgradePool, type Fleet } from "./fixture.js";
import { prometheusUnavailable, startPrometheus, waitForSeries, type PrometheusServer } from "./prometheus.js";

const unavailable = prometheusUnavailable();
const title = (s: string): string => (unavailable ? `${s} (skipped: ${unavailable})` : s);
// The default reporter hides the names of skipped suites, so say it once on stderr as well.
if (unavailable) console.warn(`[test/verify] ${unavailable}`);

/**
 * Short windows so a test takes seconds: 4 samples 1 s apart over 2 s rate windows, 500 ms
 * scrapes. The latency floor of the relative comparison is raised because on a loaded 2-core
 * test machine the simulator's event-loop lag moves healthy p95s by tens of milliseconds.
 */
const GATES = {
  ...FAST_GATES,
  observationWindowSeconds: 4,
  intervalSeconds: 1,
  rateWindowSeconds: 2,
  minRequests: 5,
  maxP95LatencyMs: 1000,
  maxErrorRatio: 0.01,
  failureLimit: 0,
  // 3 of 4: a failure is decided after 3 valid samples, which is also the least the
  // Mann-Whitney comparison works with.
  minSamples: 3,
  mannWhitney: { minLatencyDeltaMs: 300 },
};
const byName = (results: GateResult[], name: string): GateResult => {
  const r = results.find((g) => g.name === name);
  if (!r) throw new Error(`no gate ${name} in ${results.map((g) => g.name).join(", ")}`);
  return r;
};
/** Values of the samples that had data (a scrape gap leaves an Inconclusive sample without one). */
const measured = (g: GateResult): number[] => (g.evidence.samples as { value?: number }[]).flatMap((s) => (s.value === undefined ? [] : [s.value]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!unavailable)(title("Prometheus client and checks"), () => {
  let fleet: Fleet;
  let prom: PrometheusServer;
  beforeAll(async () => {
    fleet = await startFleet({ pools: ["l4"] });
    prom = await startPrometheus({ metricsUrl: fleet.sim.metrics, labels: { namespace: "sie" } });
    await simControl(fleet.sim, "/sim/load", { action: "start", rps: 50, durationMs: 60_000 });
    await waitForSeries(prom.url, 'sie_gateway_requests_total{namespace="sie"}');
  });
  afterAll(async () => {
    await prom?.stop();
    await fleet?.stop();
  });

  it("instant and range queries return values; a bad query is an Error measurement, not a throw", async () => {
    const client = new PrometheusClient(prom.url);
    const up = await client.query('up{namespace="sie"}');
    expect(up).toMatchObject({ phase: "Successful", value: [{ labels: { job: "sie-sim", namespace: "sie" }, value: 1 }] });
    const now = Date.now();
    const range = await client.queryRange("up", now - 3000, now, 1);
    expect(range.phase).toBe("Successful");
    expect(range.value?.[0]?.points.length).toBeGreaterThan(0);
    const bad = await client.query("sum(");
    expect(bad.phase).toBe("Error");
    expect(bad.message).toMatch(/bad_data/);
  });

  it("the server answers, the target is up and the request counters move", async () => {
    await sleep(2500);
    const results = await runVerification({ phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] }, kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", prometheusUrl: prom.url, gates: GATES, checks: ["prometheus"] });
    expect(results.map((g) => [g.name, g.status])).toEqual([
      ["prometheus:ready", "pass"],
      ["prometheus:targets", "pass"],
      ["prometheus:traffic", "pass"],
    ]);
    expect(byName(results, "prometheus:targets").evidence).toMatchObject({ targets: [{ job: "sie-sim", up: 1 }] });
    expect(byName(results, "prometheus:traffic").evidence.requests).toBeGreaterThan(0);
  });

  it("per-pod targets: every Ready pod of the new revision must be scraped", async () => {
    // Two target groups on the same endpoint stand in for per-pod scrape targets.
    const only0 = await startPrometheus({ metricsUrl: fleet.sim.metrics, targetGroups: [{ namespace: "sie", pod: "sie-worker-l4-0" }] });
    const both = await startPrometheus({ metricsUrl: fleet.sim.metrics, targetGroups: [{ namespace: "sie", pod: "sie-worker-l4-0" }, { namespace: "sie", pod: "sie-worker-l4-1" }] });
    try {
      await Promise.all([waitForSeries(only0.url, 'up{namespace="sie"}'), waitForSeries(both.url, 'count(up{namespace="sie"}) == 2')]);
      const run = (url: string) => runVerification({ phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] }, kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", prometheusUrl: url, gates: { ...GATES, retries: 1 }, checks: ["prometheus"] });
      const [missing, complete] = await Promise.all([run(only0.url), run(both.url)]);
      expect(byName(missing, "prometheus:targets")).toMatchObject({ status: "fail", message: expect.stringMatching(/new pod\(s\) not scraped yet: sie-worker-l4-1/), evidence: { missing: ["sie-worker-l4-1"] } });
      expect(byName(complete, "prometheus:targets")).toMatchObject({ status: "pass", message: "2 target(s) up" });
    } finally {
      await Promise.all([only0.stop(), both.stop()]);
    }
  });

  it("a gate respects its window: with no traffic on the new version it measures all samples and decides nothing", async () => {
    // Nothing is served as 9.9.9, so every sample lacks data: the gate waits out its 4 samples.
    const started = Date.now();
    const results = await runVerification({ phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] }, kube: fleet.kube, names: fleet.names, expectTag: "v9.9.9", prometheusUrl: prom.url, gates: GATES, checks: ["metric-gates"] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    const r = byName(results, "metric:error-ratio:l4");
    expect(r.status).toBe("warn");
    expect(r.evidence).toMatchObject({ phase: "Inconclusive", counts: { count: 4, successful: 0, failed: 0, inconclusive: 4 }, spec: { count: 4, minSamples: 3 } });
    expect(r.message).toMatch(/only 0 valid sample\(s\) of the 3 required/);
  });

  it("Prometheus stopped mid-window: the metric gates fail as Error (could not measure), with the query error", async () => {
    const run = runVerification({ phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] }, kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", prometheusUrl: prom.url, gates: GATES, checks: ["metric-gates"] });
    // The first sample is taken after one rate window (2 s); stop Prometheus after it.
    await sleep(2500);
    await prom.stop();
    const results = await run;
    const r = byName(results, "metric:error-ratio:l4");
    expect(r.status).toBe("fail");
    expect(r.evidence).toMatchObject({ phase: "Error", prometheusUrl: prom.url });
    expect(r.message).toMatch(/measurement\(s\) failed \(last: Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    expect((r.evidence.samples as { phase: string }[]).filter((s) => s.phase === "Error").length).toBeGreaterThan(0);
  });

  it("Prometheus stopped: its checks fail with the URL and the error; metric gates are not run; captureBaseline does not throw", async () => {
    await prom.stop();
    const results = await runVerification({ phase: "wave", wave: { name: "canary", kind: "pool", pools: ["l4"] }, kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", prometheusUrl: prom.url, gates: { ...GATES, retries: 1 }, checks: ["prometheus", "metric-gates"] });
    const ready = byName(results, "prometheus:ready");
    expect(ready.status).toBe("fail");
    expect(ready.evidence.url).toBe(`${prom.url}/-/ready`);
    expect(ready.message).toMatch(/ECONNREFUSED/);
    expect(byName(results, "prometheus:targets")).toMatchObject({ status: "fail", message: expect.stringMatching(/did not answer/) });
    expect(byName(results, "metric:error-ratio:l4")).toMatchObject({ status: "warn", message: expect.stringMatching(/not run/) });
    const baseline = await captureBaseline({ prometheusUrl: prom.url, gates: GATES, namespace: "sie", pools: ["l4"] });
    expect(baseline?.pools["l4"]).toMatchObject({ errorRatio: [], p95Ms: [], error: expect.stringMatching(/did not answer/) });
  });
});

describe.skipIf(!!unavailable)(title("metric gates: canary vs absolute thresholds and the pool's baseline"), () => {
  const TAGS: Record<string, string> = { ok: "v0.3.2", e5: "v0.3.2-5xx", slow: "v0.3.2-slow", e10: "v0.3.2-errors10" };
  let fleet: Fleet;
  let prom: PrometheusServer;
  let baseline: Baseline | undefined;
  let results: Record<string, GateResult[]> = {};

  beforeAll(async () => {
    fleet = await startFleet({ pools: Object.keys(TAGS) });
    prom = await startPrometheus({ metricsUrl: fleet.sim.metrics, labels: { namespace: "sie" } });
    await simControl(fleet.sim, "/sim/load", { action: "start", rps: 120, durationMs: 60_000 });
    await waitForSeries(prom.url, 'sie_gateway_requests_total{namespace="sie",pool="e10"}');
    // A full baseline window of v0.3.1 traffic on every pool.
    await sleep((GATES.observationWindowSeconds + GATES.rateWindowSeconds) * 1000);
    baseline = await captureBaseline({ prometheusUrl: prom.url, gates: GATES, namespace: "sie", pools: Object.keys(TAGS) });
    await Promise.all(Object.entries(TAGS).map(([pool, tag]) => upgradePool(fleet, pool, tag)));
    // Each pool is its own canary wave, observed at the same time.
    const runs = await Promise.all(
      Object.entries(TAGS).map(([pool, tag]) =>
        runVerification({ phase: "wave", wave: { name: `canary-${pool}`, kind: "pool", pools: [pool] }, kube: fleet.kube, names: fleet.names, expectTag: tag, prometheusUrl: prom.url, gates: GATES, baseline, checks: ["metric-gates"] }),
      ),
    );
    results = Object.fromEntries(Object.keys(TAGS).map((p, i) => [p, runs[i]!]));
  }, 90_000);
  afterAll(async () => {
    await prom?.stop();
    await fleet?.stop();
  });

  it("captures a baseline per pool from before the upgrade", () => {
    for (const pool of Object.keys(TAGS)) {
      const b = baseline!.pools[pool]!;
      expect(b.error).toBeUndefined();
      expect(b.errorRatio.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...b.errorRatio)).toBe(0);
      expect(Math.max(...b.p95Ms)).toBeLessThan(GATES.maxP95LatencyMs);
    }
  });

  it("a healthy canary passes both gates", () => {
    const ok = results["ok"]!;
    expect(ok.map((g) => [g.name, g.status])).toEqual([
      ["metric:error-ratio:ok", "pass"],
      ["metric:p95-latency:ok", "pass"],
    ]);
    expect(byName(ok, "metric:error-ratio:ok").evidence).toMatchObject({ phase: "Successful", version: "0.3.2", counts: { count: 4 }, baseline: { status: "pass" } });
  });

  it("-5xx: the error-ratio gate fails with the measured ratios; latency is fine", () => {
    const r = byName(results["e5"]!, "metric:error-ratio:e5");
    expect(r.status).toBe("fail");
    expect(r.evidence).toMatchObject({ phase: "Failed", version: "0.3.2-5xx", baseline: { status: "fail" } });
    expect(measured(r).every((v) => v === 1)).toBe(true);
    expect(byName(results["e5"]!, "metric:p95-latency:e5").status).toBe("pass");
  });

  it("-errors10: 10 % errors fail the absolute gate and the Mann-Whitney comparison with the baseline", () => {
    const r = byName(results["e10"]!, "metric:error-ratio:e10");
    expect(r.status).toBe("fail");
    expect(r.message, JSON.stringify(r.evidence)).toMatch(/failed \(\d\) > failureLimit \(0\) after \d samples/);
    for (const v of measured(r)) expect(v).toBeGreaterThan(GATES.maxErrorRatio);
    const b = r.evidence.baseline as { status: string; p: number; median: number };
    expect(b).toMatchObject({ status: "fail", median: 0 });
    expect(b.p).toBeLessThan(0.05);
  });

  it("-slow: the p95 gate fails with latencies above the threshold", () => {
    const r = byName(results["slow"]!, "metric:p95-latency:slow");
    expect(r.status).toBe("fail");
    expect(measured(r).length).toBeGreaterThanOrEqual(3);
    for (const v of measured(r)) expect(v).toBeGreaterThan(1000);
    expect(r.evidence.query).toMatch(/histogram_quantile\(0\.95/);
    expect(byName(results["slow"]!, "metric:error-ratio:slow").status).toBe("pass");
  });
});
