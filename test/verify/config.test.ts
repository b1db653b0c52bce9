// The rollout.gates keys the suite added: optional, defaulted, validated; old stacks still parse.
import { describe, expect, it } from "vitest";
import { rolloutSchema } from "../../infra/config/configSchema.js";
import { resolveGates } from "../../automation/verify/metricGates.js";
import { DEFAULT_CHECKS, describeSkipped, phaseChecks, skippedChecks } from "../../automation/verify/checks.js";

describe("rollout.gates", () => {
  it("a stack written before the suite keeps validating, with the new keys defaulted", () => {
    const r = rolloutSchema.parse({
      gates: { maxErrorRatio: 0.02, maxP95LatencyMs: 1500, observationWindowSeconds: 120, intervalSeconds: 20, failureLimit: 1 },
    });
    expect(r.gates).toMatchObject({
      maxErrorRatio: 0.02,
      minRequests: 20,
      retries: 8,
      backoffSeconds: 0.25,
      checkTimeoutSeconds: 30,
      concurrency: 8,
      checks: {},
      mannWhitney: { enabled: true, alpha: 0.05, enforce: true },
    });
    expect(r.gates.prometheusUrl).toBeUndefined();
  });

  it("accepts a Prometheus URL and per-phase check lists; rejects unknown checks and bad URLs", () => {
    const g = resolveGates({ prometheusUrl: "http://prometheus.monitoring:9090", checks: { wave: ["images", "metric-gates"] }, mannWhitney: { alpha: 0.01 } });
    expect(g.checks.wave).toEqual(["images", "metric-gates"]);
    expect(g.mannWhitney).toMatchObject({ alpha: 0.01, tolerance: 0.2 });
    expect(() => resolveGates({ checks: { final: ["smoke"] } } as never)).toThrow();
    expect(() => resolveGates({ prometheusUrl: "ftp://x" })).toThrow();
    expect(() => resolveGates({ mannWhitney: { alpha: 1 } })).toThrow();
  });

  it("rollout.gates.skip: check names, none by default; an unknown name is refused", () => {
    expect(resolveGates({}).skip).toEqual([]);
    expect(resolveGates({ skip: ["metric-gates", "prometheus"] }).skip).toEqual(["metric-gates", "prometheus"]);
    expect(() => resolveGates({ skip: ["metrics"] } as never)).toThrow(/metric-gates/);
  });

  it("every default check is a known name", () => {
    const known = rolloutSchema.shape.gates.parse({ checks: { wave: [...DEFAULT_CHECKS.wave], final: [...DEFAULT_CHECKS.final] } });
    expect(known.checks.final).toContain("keda");
  });
});

describe("rollout.gates.sample", () => {
  it("defaults: catch 10 %, pass 1 %, with 99 %; 4 at once; config p95 at most 1000 ms, the gateway's follows maxP95LatencyMs; latency failures confirmed", () => {
    const g = resolveGates({});
    expect(g.sample).toEqual({
      detectErrorRatio: 0.1,
      healthyErrorRatio: 0.01,
      confidence: 0.99,
      concurrency: 4,
      maxP95LatencyMs: { config: 1000 },
      maxP95IncreaseMs: 250,
      maxP95IncreaseRatio: 0.5,
      confirmLatencyFailures: true,
    });
  });

  it("refuses rates a sample of a few thousand requests cannot tell apart", () => {
    expect(() => resolveGates({ sample: { detectErrorRatio: 0.1, healthyErrorRatio: 0.06 } })).toThrow(/at most half/);
    expect(() => resolveGates({ sample: { detectErrorRatio: 0.01 } })).toThrow();
    expect(() => resolveGates({ sample: { confidence: 0.9999 } })).toThrow();
    expect(() => resolveGates({ sample: { requests: 10 } } as never)).toThrow();
    expect(() => resolveGates({ sample: { confirmLatencyFailures: "yes" } } as never)).toThrow();
    expect(resolveGates({ sample: { detectErrorRatio: 0.2, healthyErrorRatio: 0.1, maxP95LatencyMs: { gateway: 800 } } }).sample).toMatchObject({
      maxP95LatencyMs: { gateway: 800, config: 1000 },
    });
  });
});

describe("the checks a run does: phaseChecks minus the skips", () => {
  const noProm = (l: readonly string[]) => l.filter((c) => c !== "prometheus" && c !== "metric-gates");

  it("leaves the skipped checks out of the stack's lists, or of the defaults, in both phases", () => {
    const skip = ["prometheus", "metric-gates"] as const;
    expect(phaseChecks({ checks: {}, skip }, "wave")).toEqual(noProm(DEFAULT_CHECKS.wave));
    expect(phaseChecks({ checks: {}, skip }, "final")).toEqual(noProm(DEFAULT_CHECKS.final));
    expect(phaseChecks({ checks: { final: ["rollout", "metric-gates", "keda"] }, skip }, "final")).toEqual(["rollout", "keda"]);
    // No skip: the lists as they are.
    expect(phaseChecks({ checks: {} }, "wave")).toBe(DEFAULT_CHECKS.wave);
    expect(phaseChecks(resolveGates({ checks: { wave: ["images"] } }), "wave")).toEqual(["images"]);
  });

  it("records each skip once, config first, and only checks the stack would run", () => {
    const gates = resolveGates({ checks: { wave: ["rollout", "metric-gates"], final: ["rollout", "prometheus"] }, skip: ["prometheus", "keda"] });
    expect(skippedChecks(gates, ["metric-gates", "prometheus", "encode-smoke"])).toEqual([
      { name: "prometheus", source: "config" },
      { name: "metric-gates", source: "flag" },
    ]);
    expect(skippedChecks(resolveGates({}))).toEqual([]);
    expect(describeSkipped([...skippedChecks(gates, ["metric-gates"]), { name: "gateway-sample", source: "force" }])).toBe(
      "prometheus (rollout.gates.skip); metric-gates (--skip-check); gateway-sample (--force)",
    );
  });
});
