// The canary analysis on the real engine: with a real Prometheus scraping the simulator and load
// running, an upgrade to a tag whose workers fail 10% of requests passes every rollout and
// readiness check and is still caught in the canary wave — by the error-ratio metric gate.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upStack } from "../../automation/engine/operations.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { REPO_ROOT } from "../../automation/engine/paths.js";
import { prometheusUnavailable, startPrometheus, type PrometheusServer } from "../verify/prometheus.js";
import { CLI_BUILD_TIMEOUT_MS, ENGINE_TEST_TIMEOUT_MS, engineFixture, ensureCli, type EngineFixture } from "./harness.js";

const unavailable = prometheusUnavailable();

// Short windows so the test takes seconds per wave. The wave checks leave out the encode smoke
// test (it would catch -errors10 on its own) and the Prometheus target check (it needs per-pod
// scrape targets, which one simulator endpoint cannot give): here the metric gates must decide.
const stackFile = fs
  .readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")
  .replace(
    /    gates:\n(      .*\n)+/,
    [
      "    gates:",
      "      maxErrorRatio: 0.02",
      "      maxP95LatencyMs: 2000",
      "      observationWindowSeconds: 12",
      "      intervalSeconds: 2",
      "      rateWindowSeconds: 4",
      "      minRequests: 5",
      "      checks:",
      "        wave: [rollout, images, gateway-readyz, metric-gates]",
      "        final: [rollout, images, gateway-readyz, config-healthz, encode-smoke, keda]",
      "",
    ].join("\n"),
  );

describe.skipIf(unavailable !== undefined)(`metric gates on the real engine${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let fx: EngineFixture;
  let prom: PrometheusServer;

  beforeAll(async () => {
    await ensureCli();
    fx = await engineFixture({ stackFile });
    prom = await startPrometheus({ metricsUrl: fx.sim.metrics, labels: { namespace: "sie" } });
    fx.ctx.env = { ...fx.ctx.env, SIE_FLEET_PROMETHEUS_URL: prom.url };
    await upStack(await fx.open(true));
    const load = await fetch(`${fx.sim.api}/sim/load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "start", rps: 60, durationMs: 8 * 60_000 }) });
    expect(load.status).toBe(200);
  }, CLI_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await prom?.stop();
    await fx?.cleanup();
  });

  it.each([
    ["v0.3.2-errors10", /^metric:error-ratio:l4/],
    ["v0.3.2-slow", /^metric:p95-latency:l4/],
  ])(
    "%s is reverted because of the canary's metrics, not readiness",
    async (tag, gate) => {
      const config = fs.readFileSync(fx.configFile);
      const r = await upgrade({ stack: "local", to: tag }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(r.failedGate.name).toMatch(gate);
      const canary = r.waves.at(-1)!;
      expect(canary.gates.filter((g) => g.name.startsWith("rollout:")).every((g) => g.status === "pass")).toBe(true);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
