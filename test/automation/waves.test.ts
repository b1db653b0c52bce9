import { describe, expect, it } from "vitest";
import { planWaves } from "../../automation/plan/waves.js";
import { holdTargets, releaseWorkloads } from "../../core/workloads.js";

const rollout = (r: { canaryPool?: string; waveOrder?: string[]; batchSize?: number } = {}) => ({ waveOrder: [], batchSize: 1, ...r });

describe("planWaves", () => {
  it("orders canary → pools in batches → gateway → config", () => {
    const waves = planWaves(["l4", "a100-40gb", "a100-80gb", "cpu"], rollout({ canaryPool: "cpu", batchSize: 2 }));
    expect(waves).toEqual([
      { name: "canary", kind: "pool", pools: ["cpu"] },
      { name: "pools-1", kind: "pool", pools: ["l4", "a100-40gb"] },
      { name: "pools-2", kind: "pool", pools: ["a100-80gb"] },
      { name: "gateway", kind: "gateway" },
      { name: "config", kind: "config" },
    ]);
  });

  it("defaults: first pool is the canary, one pool per wave", () => {
    expect(planWaves(["l4", "cpu"], rollout()).map((w) => w.name)).toEqual(["canary", "pools-1", "gateway", "config"]);
  });

  it("with no pools plans only gateway and config", () => {
    expect(planWaves([], rollout()).map((w) => w.kind)).toEqual(["gateway", "config"]);
  });

  it("waveOrder orders the remaining pools; unlisted pools follow in config order", () => {
    const waves = planWaves(["l4", "a100-40gb", "a100-80gb", "cpu"], rollout({ waveOrder: ["a100-80gb", "l4"] }));
    expect(waves.map((w) => w.pools?.join(","))).toEqual(["a100-80gb", "l4", "a100-40gb", "cpu", undefined, undefined]);
  });

  it("leaves out pools the config names but the stack has not deployed", () => {
    const waves = planWaves(["l4", "cpu"], rollout({ canaryPool: "h100", waveOrder: ["h100", "cpu"] }));
    expect(waves.map((w) => w.pools?.join(","))).toEqual(["cpu", "l4", undefined, undefined]);
  });

  it("lists the workloads of a wave and of the whole release", () => {
    const names = {
      namespace: "sie",
      fullname: "sie",
      gatewayDeployment: "sie-gateway",
      configDeployment: "sie-config",
      statefulSets: { l4: "sie-worker-l4", cpu: "sie-worker-cpu" },
    };
    const waves = planWaves(["l4", "cpu"], rollout());
    expect(releaseWorkloads(names, waves[0]!)).toEqual([{ kind: "StatefulSet", name: "sie-worker-l4", component: "worker", pool: "l4" }]);
    expect(releaseWorkloads(names, { name: "pools-1", kind: "pool", pools: ["cpu", "l4", "h100"] }).map((w) => w.name)).toEqual([
      "sie-worker-cpu",
      "sie-worker-l4",
    ]);
    expect(releaseWorkloads(names, waves.at(-2)!).map((w) => w.name)).toEqual(["sie-gateway"]);
    expect(holdTargets(releaseWorkloads(names))).toEqual({ statefulSets: ["sie-worker-l4", "sie-worker-cpu"], deployments: ["sie-gateway", "sie-config"] });
  });
});
