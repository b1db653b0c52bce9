// The local stack as it is, monitoring included: the metric gates query the lane cluster's own
// Prometheus (cluster/clusterPrometheus.ts) through the API server's service proxy, as they would
// a real cluster's, with no SIE_FLEET_PROMETHEUS_URL. Its per-release targets give the
// `prometheus` checks their `up{namespace}`, and a canary failing 10 % of requests is caught by
// the error-ratio gate. (metricGates.test.ts covers the gates themselves with a Prometheus of its own.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import { serviceProxyUrl } from "../../automation/kube/apiProxy.js";
import { CLUSTER_PROMETHEUS } from "../../cluster/clusterPrometheus.js";
import { prometheusUnavailable } from "../../cluster/prometheus.js";
import { control, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, type StackFixture } from "../support/stackFixture.js";

const unavailable = prometheusUnavailable();
if (unavailable) console.warn(`[cluster Prometheus gates] ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`metric gates on the cluster's own Prometheus${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // As in metricGates.test.ts, encode-smoke is left out of the waves so the metric gates decide.
  const fixture = useStackFixture({
    monitoring: true,
    config: (c) => {
      c["sie-fleet:rollout"].gates.checks = {
        wave: ["rollout", "images", "gateway-readyz", "prometheus", "metric-gates"],
        final: ["rollout", "images", "gateway-readyz", "config-healthz", "encode-smoke"],
      };
    },
  });
  let fx: StackFixture;

  beforeAll(() => {
    fx = fixture();
    expect(fx.ctx.env?.["SIE_FLEET_PROMETHEUS_URL"]).toBeUndefined();
  });
  afterAll(async () => {
    if (fx) await control(fx, "load", { action: "stop" });
  });

  it(
    "v0.3.2-errors10 is reverted by the error-ratio gate, queried through the API server",
    async () => {
      expect(fx.cluster.prometheus?.service).toBe("monitoring/prometheus:9090");
      expect((await control(fx, "load", { rps: 60, durationMs: 5 * 60_000 })).status).toBe(200);
      const r = await upgrade({ stack: fx.stack, to: "v0.3.2-errors10" }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      const canary = r.waves.at(-1)!;
      expect(canary.wave.name).toBe("canary");
      expect(r.failedGate.name).toMatch(/^metric:error-ratio:l4/);
      const proxied = serviceProxyUrl(fx.cluster.server, CLUSTER_PROMETHEUS);
      const targets = canary.gates.find((g) => g.name === "prometheus:targets");
      expect(targets, JSON.stringify(canary.gates.map((g) => g.name))).toMatchObject({ status: "pass", evidence: { url: proxied } });
      expect(canary.gates.find((g) => g.name === "prometheus:ready")).toMatchObject({ status: "pass", evidence: { url: `${proxied}/-/ready` } });
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
