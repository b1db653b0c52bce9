// The canary analysis on the real release: a real Prometheus scrapes the endpoint server, whose
// load generator sends this namespace's traffic. A tag whose workers fail 10 % of requests, and
// one whose workers answer 1.5 s late, pass every rollout and readiness check and are still
// caught in the canary wave — by the error-ratio and the p95-latency metric gates.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import { fixturePrometheus, prometheusUnavailable, type PrometheusServer } from "../support/fixturePrometheus.js";
import { control, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const unavailable = prometheusUnavailable();
if (unavailable) console.warn(`[metric gates] ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`metric gates on the real release${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // The wave checks leave out encode-smoke (its 10 requests would catch -errors10 on their own)
  // and the Prometheus target check (one endpoint-server target is not one per pod): the metric
  // gates must decide. The stack's short windows stay.
  const fixture = useStackFixture({
    config: (c) => {
      c["sie-fleet:rollout"].gates.checks = {
        wave: ["rollout", "images", "gateway-readyz", "metric-gates"],
        final: ["rollout", "images", "gateway-readyz", "config-healthz", "encode-smoke"],
      };
    },
  });
  let fx: StackFixture;
  let prom: PrometheusServer;

  beforeAll(async () => {
    fx = fixture();
    prom = await fixturePrometheus(fx);
    fx.ctx.env!.SIE_FLEET_PROMETHEUS_URL = prom.url;
  }, 120_000);

  afterAll(async () => {
    if (fx) await control(fx, "load", { action: "stop" });
    await prom?.stop();
  });

  it.each([
    ["v0.3.2-errors10", /^metric:error-ratio:l4/],
    ["v0.3.2-slow", /^metric:p95-latency:l4/],
  ])(
    "%s is reverted because of the canary's metrics, not its readiness",
    async (tag, gate) => {
      // Steady traffic over the baseline window, the canary wave and the revert.
      expect((await control(fx, "load", { rps: 60, durationMs: 5 * 60_000 })).status).toBe(200);
      const config = fs.readFileSync(fx.configFile);
      const images = await workloadImages(fx);
      const r = await upgrade({ stack: fx.stack, to: tag }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      const canary = r.waves.at(-1)!;
      expect(canary.wave.name).toBe("canary");
      expect(r.failedGate.name).toMatch(gate);
      // The canary's workers rolled out (its pre-pull too: `rollout:DaemonSet/…`): the metrics decided.
      expect(canary.gates.filter((g) => g.name.startsWith("rollout:StatefulSet/")).map((g) => g.status)).toEqual(["pass"]);
      expect(canary.gates.filter((g) => g.name.startsWith("rollout:")).every((g) => g.status === "pass")).toBe(true);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await workloadImages(fx)).toEqual(images);
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
