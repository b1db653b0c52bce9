// Every stack file in stacks/ must load and validate; the local stack is also checked in detail.
import { load } from "js-yaml";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { LocalFleetConfig } from "../../../infra/config/configTypes.js";
import { DEFAULT_CHECKS, phaseChecks } from "../../../automation/verify/checks.js";
import { CLUSTER_PROMETHEUS_SERVICE } from "../../../cluster/clusterPrometheus.js";
import { rolloutTiming } from "../../../automation/actions/upgrade/timing.js";

const STACKS = join(import.meta.dirname, "../../../stacks");
const files = readdirSync(STACKS).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f));

function stackConfig(file: string): Record<string, unknown> {
  const text = readFileSync(join(STACKS, file), "utf8");
  expect(text, "no encryption salt in committed stack files").not.toMatch(/encryptionsalt/);
  const doc = load(text) as { config?: Record<string, unknown> };
  return doc.config ?? {};
}

describe("stack files", () => {
  it("include the gke-prod, eks-prod and local examples", () => {
    expect(files).toEqual(expect.arrayContaining(["Pulumi.gke-prod.yaml", "Pulumi.eks-prod.yaml", "Pulumi.local.yaml"]));
  });

  it.each(files)("%s validates", (file) => {
    const cfg = parseConfig(stackConfig(file));
    expect(Object.keys(cfg.pools).length).toBeGreaterThan(0);
    if (cfg.rollout.canaryPool) expect(cfg.pools[cfg.rollout.canaryPool]).toBeDefined();
  });

  // A check in a run's list that has nothing to look at refuses the upgrade: every stack whose
  // checks include Prometheus's must name one. The local stack gets its Prometheus from
  // SIE_FLEET_PROMETHEUS_URL (the demo and the tests that need it start one).
  it.each(files.filter((f) => f !== "Pulumi.local.yaml"))("%s names a Prometheus if its checks need one", (file) => {
    const cfg = parseConfig(stackConfig(file));
    const gates = cfg.rollout.gates;
    const checks = [...phaseChecks(gates, "wave"), ...phaseChecks(gates, "final")];
    // What the gates query (automation/actions/context.ts): rollout.gates.prometheusUrl, else the in-cluster Service.
    if (checks.includes("prometheus") || checks.includes("metric-gates")) expect(gates.prometheusUrl ?? cfg.monitoring.prometheus?.service).toBeDefined();
  });

  it.each(["Pulumi.gke-prod.yaml", "Pulumi.eks-prod.yaml"])("%s runs the default checks, metric gates included, and skips none", (file) => {
    const gates = parseConfig(stackConfig(file)).rollout.gates;
    expect(gates.skip).toEqual([]);
    expect(phaseChecks(gates, "wave")).toEqual(DEFAULT_CHECKS.wave);
    expect(phaseChecks(gates, "final")).toEqual(DEFAULT_CHECKS.final);
    expect(DEFAULT_CHECKS.wave).toContain("metric-gates");
  });

  it("local stack: pools, release, autoscaling and canary as the embedded cluster expects", () => {
    const cfg = parseConfig(stackConfig("Pulumi.local.yaml")) as LocalFleetConfig;
    expect(cfg.platform).toBe("local");
    expect(Object.fromEntries(Object.values(cfg.pools).map((p) => [p.name, [p.gpu, p.minReplicas, p.maxReplicas]]))).toEqual({
      l4: ["l4", 1, 3],
      a100: ["a100-40gb", 1, 2],
      cpu: ["cpu", 0, 2],
    });
    expect(cfg.release).toMatchObject({ namespace: "sie", releaseName: "sie", imageTag: "v0.3.1" });
    expect(cfg.autoscaling.enabled).toBe(true);
    expect(cfg.autoscaling.prometheusAddress).toBeUndefined();
    // The embedded cluster's own Prometheus, for KEDA (in-cluster address) and the gates (service proxy).
    expect(stackConfig("Pulumi.local.yaml")["sie-fleet:monitoring"]).toEqual({ prometheus: { service: CLUSTER_PROMETHEUS_SERVICE } });
    expect(cfg.monitoring.prometheus).toMatchObject({
      source: "service",
      service: { namespace: "monitoring", name: "prometheus", port: 9090 },
      inClusterUrl: "http://prometheus.monitoring.svc.cluster.local:9090",
    });
    expect(cfg.keda.install).toBe(false);
    expect(cfg.rollout.canaryPool).toBe("l4");

    // Pools select the embedded cluster's nodes by GPU kind; the chart comes from the local copies.
    expect(cfg.pools.l4!.nodeSelector).toEqual({ "sie-fleet/gpu": "l4" });
    expect(cfg.release.chart).toBe("../shared/charts/sie-cluster-{version}");
    // No KEDA operator runs in the embedded cluster, so its check is left out.
    expect(cfg.rollout.gates.checks.final).not.toContain("keda");
  });
});

// GPU workers load models for minutes before their startup probe passes (the chart allows 600 s).
// No stack may give up on a worker, or on its wave, sooner than a 90 s start plus its readiness.
describe("rollout timing of every stack file", () => {
  it.each(files)("%s waits for a worker that takes 90 s to start", (file) => {
    const cfg = parseConfig(stackConfig(file));
    const timing = rolloutTiming(cfg, "pool");
    expect(timing.notReadyAfterMs).toBeGreaterThanOrEqual(90_000 + 30_000);
    expect(timing.timeoutMs).toBeGreaterThanOrEqual(90_000 + 30_000);
  });
});
