// The Prometheus client and the Prometheus checks against a real Prometheus scraping the lane
// cluster's endpoint server while its load generator sends this release's traffic: queries,
// scrape targets (per pod too), the traffic check, a gate's window, and Prometheus going away.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackContext, type StackContext } from "../../automation/actions/context.js";
import { stackTarget } from "../../automation/actions/target.js";
import type { WaveSpec } from "../../core/types.js";
import { captureBaseline, PrometheusClient, runVerification, type RunVerificationOptions } from "../../automation/verify/index.js";
import { startPrometheus, waitForSeries } from "../../cluster/prometheus.js";
import { fixturePrometheus, prometheusUnavailable, type PrometheusServer } from "../support/fixturePrometheus.js";
import { control, useStackFixture, type StackFixture } from "../support/stackFixture.js";
import { byName, METRIC_TEST_GATES } from "../support/verifyGates.js";

const unavailable = prometheusUnavailable();
if (unavailable) console.warn(`[verify] ${unavailable}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const canary: WaveSpec = { name: "canary", kind: "pool", pools: ["l4"] };

describe.skipIf(!!unavailable)(`Prometheus client and checks${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // Two canary workers, so per-pod scrape targets can miss one.
  const fixture = useStackFixture({ config: (c) => void (c["sie-fleet:pools"].l4.minReplicas = 2) });
  let fx: StackFixture;
  let sc: StackContext;
  let prom: PrometheusServer;
  const verify = (o: Omit<RunVerificationOptions, "kube" | "names" | "phase" | "wave" | "expectTag"> & { expectTag?: string }) =>
    runVerification({
      phase: "wave",
      wave: canary,
      kube: sc.kube,
      names: sc.names,
      expectTag: "v0.3.1",
      prometheusUrl: prom.url,
      gates: METRIC_TEST_GATES,
      ...o,
    });

  beforeAll(async () => {
    fx = fixture();
    sc = await loadStackContext(stackTarget(fx.stack, fx.ctx));
    prom = await fixturePrometheus(fx);
    expect((await control(fx, "load", { rps: 50, durationMs: 3 * 60_000 })).status).toBe(200);
    await waitForSeries(prom.url, `sie_gateway_requests_total{namespace="${fx.namespace}"}`, 30_000);
  }, 120_000);
  afterAll(async () => {
    if (fx) await control(fx, "load", { action: "stop" });
    await prom?.stop();
  });

  it("instant and range queries return values; a bad query is an Error measurement, not a throw", async () => {
    const client = new PrometheusClient(prom.url);
    const up = await client.query(`up{namespace="${fx.namespace}"}`);
    expect(up).toMatchObject({ phase: "Successful", value: [{ labels: { job: "sie", namespace: fx.namespace }, value: 1 }] });
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
    const results = await verify({ checks: ["prometheus"] });
    expect(results.map((g) => [g.name, g.status])).toEqual([
      ["prometheus:ready", "pass"],
      ["prometheus:targets", "pass"],
      ["prometheus:traffic", "pass"],
    ]);
    expect(byName(results, "prometheus:targets").evidence).toMatchObject({ targets: [{ job: "sie", up: 1 }] });
    expect(byName(results, "prometheus:traffic").evidence.requests).toBeGreaterThan(0);
  });

  it("per-pod targets: every Ready pod of the new revision must be scraped", async () => {
    // Target groups on the same endpoint stand in for per-pod scrape targets.
    const pod = (i: number) => ({ namespace: fx.namespace, pod: `${fx.fullname}-worker-l4-${i}` });
    const only0 = await startPrometheus({ metricsUrl: fx.cluster.metricsUrl!, targetGroups: [pod(0)] });
    const both = await startPrometheus({ metricsUrl: fx.cluster.metricsUrl!, targetGroups: [pod(0), pod(1)] });
    try {
      await Promise.all([waitForSeries(only0.url, `up{namespace="${fx.namespace}"}`), waitForSeries(both.url, `count(up{namespace="${fx.namespace}"}) == 2`)]);
      const run = (url: string) => verify({ prometheusUrl: url, gates: { ...METRIC_TEST_GATES, retries: 1 }, checks: ["prometheus"] });
      const [missing, complete] = await Promise.all([run(only0.url), run(both.url)]);
      expect(byName(missing, "prometheus:targets")).toMatchObject({
        status: "fail",
        message: expect.stringMatching(new RegExp(`new pod\\(s\\) not scraped yet: ${pod(1).pod}`)),
        evidence: { missing: [pod(1).pod] },
      });
      expect(byName(complete, "prometheus:targets")).toMatchObject({ status: "pass", message: "2 target(s) up" });
    } finally {
      await Promise.all([only0.stop(), both.stop()]);
    }
  });

  it("a gate respects its window: with no traffic on the new version it measures all samples and decides nothing", async () => {
    // Nothing is served as 9.9.9, so every sample lacks data: the gate waits out its 4 samples.
    const started = Date.now();
    const results = await verify({ expectTag: "v9.9.9", checks: ["metric-gates"] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    const r = byName(results, "metric:error-ratio:l4");
    expect(r.status).toBe("warn");
    expect(r.evidence).toMatchObject({
      phase: "Inconclusive",
      counts: { count: 4, successful: 0, failed: 0, inconclusive: 4 },
      spec: { count: 4, minSamples: 3 },
    });
    expect(r.message).toMatch(/only 0 valid sample\(s\) of the 3 required/);
  });

  it("Prometheus stopped mid-window: the metric gates fail as Error (could not measure), with the query error", async () => {
    const run = verify({ checks: ["metric-gates"] });
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
    const results = await verify({ gates: { ...METRIC_TEST_GATES, retries: 1 }, checks: ["prometheus", "metric-gates"] });
    const ready = byName(results, "prometheus:ready");
    expect(ready.status).toBe("fail");
    expect(ready.evidence.url).toBe(`${prom.url}/-/ready`);
    expect(ready.message).toMatch(/ECONNREFUSED/);
    expect(byName(results, "prometheus:targets")).toMatchObject({ status: "fail", message: expect.stringMatching(/did not answer/) });
    expect(byName(results, "metric:error-ratio:l4")).toMatchObject({ status: "warn", message: expect.stringMatching(/not run/) });
    const baseline = await captureBaseline({ http: fetch, prometheusUrl: prom.url, gates: METRIC_TEST_GATES, namespace: fx.namespace, pools: ["l4"] });
    expect(baseline?.pools["l4"]).toMatchObject({ errorRatio: [], p95Ms: [], error: expect.stringMatching(/did not answer/) });
  });
});
