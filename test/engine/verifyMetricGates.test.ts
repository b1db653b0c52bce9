// The metric gates against a real Prometheus scraping the endpoint server: a baseline captured per
// pool before the "upgrade", then four pools moved at once to a healthy tag, -5xx, -slow and
// -errors10 and each observed as its own canary wave, judged by the absolute thresholds and by
// the Mann-Whitney comparison with its own baseline.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackContext } from "../../automation/actions/context.js";
import { stackTarget } from "../../automation/actions/target.js";
import type { GateResult } from "../../core/types.js";
import { captureBaseline, runVerification, type Baseline } from "../../automation/verify/index.js";
import { waitForSeries } from "../../cluster/prometheus.js";
import { fixturePrometheus, prometheusUnavailable, type PrometheusServer } from "../support/fixturePrometheus.js";
import { control, useStackFixture, type StackFixture } from "../support/stackFixture.js";
import { byName, METRIC_TEST_GATES as GATES } from "../support/verifyGates.js";
import { setWorkloadTag } from "../support/workloadTags.js";

const unavailable = prometheusUnavailable();
if (unavailable) console.warn(`[verify] ${unavailable}`);
const TAGS: Record<string, string> = { ok: "v0.3.2", e5: "v0.3.2-5xx", slow: "v0.3.2-slow", e10: "v0.3.2-errors10" };
/** Values of the samples that had data (a scrape gap leaves an Inconclusive sample without one). */
const measured = (g: GateResult): number[] => (g.evidence.samples as { value?: number }[]).flatMap((s) => (s.value === undefined ? [] : [s.value]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!unavailable)(`metric gates: canary vs absolute thresholds and the pool's baseline${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // One CPU-node pool per tag besides the canary pool the stack needs; no A100 used.
  const fixture = useStackFixture({
    config: (c) => {
      const pools = c["sie-fleet:pools"];
      c["sie-fleet:pools"] = {
        l4: pools.l4,
        ...Object.fromEntries(Object.keys(TAGS).map((p) => [p, { gpu: "cpu", maxNodes: 1, minReplicas: 1, maxReplicas: 1 }])),
      };
      c["sie-fleet:rollout"].waveOrder = [];
    },
  });
  let fx: StackFixture;
  let prom: PrometheusServer;
  let baseline: Baseline | undefined;
  let results: Record<string, GateResult[]> = {};

  beforeAll(async () => {
    fx = fixture();
    const sc = await loadStackContext(stackTarget(fx.stack, fx.ctx));
    prom = await fixturePrometheus(fx);
    expect((await control(fx, "load", { rps: 120, durationMs: 3 * 60_000 })).status).toBe(200);
    await waitForSeries(prom.url, `sie_gateway_requests_total{namespace="${fx.namespace}",pool="e10"}`, 30_000);
    // A full baseline window of v0.3.1 traffic on every pool.
    await sleep((GATES.observationWindowSeconds + GATES.rateWindowSeconds) * 1000);
    baseline = await captureBaseline({ http: fetch, prometheusUrl: prom.url, gates: GATES, namespace: fx.namespace, pools: Object.keys(TAGS) });
    await Promise.all(Object.entries(TAGS).map(([pool, tag]) => setWorkloadTag(fx, { pool }, tag, { wait: true })));
    // Each pool is its own canary wave, observed at the same time.
    const runs = await Promise.all(
      Object.entries(TAGS).map(([pool, tag]) =>
        runVerification({
          phase: "wave",
          wave: { name: `canary-${pool}`, kind: "pool", pools: [pool] },
          kube: sc.kube,
          names: sc.names,
          expectTag: tag,
          prometheusUrl: prom.url,
          gates: GATES,
          ...(baseline ? { baseline } : {}),
          checks: ["metric-gates"],
        }),
      ),
    );
    results = Object.fromEntries(Object.keys(TAGS).map((p, i) => [p, runs[i]!]));
  }, 240_000);
  afterAll(async () => {
    if (fx) await control(fx, "load", { action: "stop" });
    await prom?.stop();
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
    expect(byName(ok, "metric:error-ratio:ok").evidence).toMatchObject({
      phase: "Successful",
      version: "0.3.2",
      counts: { count: 4 },
      baseline: { status: "pass" },
    });
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
