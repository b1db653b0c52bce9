import { describe, expect, it } from "vitest";
import { ConfigError } from "../../automation/errors.js";
import { planWaves } from "../../automation/waves.js";
import { holdTargets, releaseWorkloads } from "../../automation/workloads.js";

describe("planWaves", () => {
  it("orders canary → pools in batches → gateway → config", () => {
    const waves = planWaves({ pools: ["l4", "a100-40gb", "a100-80gb", "cpu"], policy: { canaryPool: "cpu", batchSize: 2 } });
    expect(waves).toEqual([
      { name: "canary", kind: "pool", pools: ["cpu"] },
      { name: "pools-1", kind: "pool", pools: ["l4", "a100-40gb"] },
      { name: "pools-2", kind: "pool", pools: ["a100-80gb"] },
      { name: "gateway", kind: "gateway" },
      { name: "config", kind: "config" },
    ]);
  });

  it("defaults: first pool is the canary, one pool per wave", () => {
    expect(planWaves({ pools: ["l4", "cpu"] }).map((w) => w.name)).toEqual(["canary", "pools-1", "gateway", "config"]);
  });

  it("with no pools plans only gateway and config", () => {
    expect(planWaves({ pools: [] }).map((w) => w.kind)).toEqual(["gateway", "config"]);
  });

  it("waveOrder orders the remaining pools; unlisted pools follow in config order", () => {
    const waves = planWaves({ pools: ["l4", "a100-40gb", "a100-80gb", "cpu"], policy: { waveOrder: ["a100-80gb", "l4"] } });
    expect(waves.map((w) => w.pools?.join(","))).toEqual(["a100-80gb", "l4", "a100-40gb", "cpu", undefined, undefined]);
  });

  it("collects every problem and names each key", () => {
    try {
      planWaves({ pools: ["l4", "l4"], policy: { canaryPool: "h100", batchSize: 0, waveOrder: ["cpu", "l4", "l4"] } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.exitCode).toBe(2);
      expect(e.problems.map((p) => p.key)).toEqual([
        "sie-fleet:pools",
        "sie-fleet:rollout.batchSize",
        "sie-fleet:rollout.canaryPool",
        "sie-fleet:rollout.waveOrder",
        "sie-fleet:rollout.waveOrder",
      ]);
      expect(e.message).toContain('"h100" is not an enabled pool; choose one of: l4, l4');
      expect(e.message).toContain('"cpu" is not an enabled pool');
      expect(e.message).toContain("lists l4 more than once");
    }
  });

  it("lists the workloads of a wave and of the whole release", () => {
    const names = { namespace: "sie", fullname: "sie", gatewayDeployment: "sie-gateway", configDeployment: "sie-config", statefulSets: { l4: "sie-worker-l4", cpu: "sie-worker-cpu" } };
    const waves = planWaves({ pools: ["l4", "cpu"] });
    expect(releaseWorkloads(names, waves[0]!)).toEqual([{ kind: "StatefulSet", name: "sie-worker-l4", component: "worker", pool: "l4" }]);
    expect(releaseWorkloads(names, { name: "pools-1", kind: "pool", pools: ["cpu", "l4", "h100"] }).map((w) => w.name)).toEqual(["sie-worker-cpu", "sie-worker-l4"]);
    expect(releaseWorkloads(names, waves.at(-2)!).map((w) => w.name)).toEqual(["sie-gateway"]);
    expect(holdTargets(releaseWorkloads(names))).toEqual({ statefulSets: ["sie-worker-l4", "sie-worker-cpu"], deployments: ["sie-gateway", "sie-config"] });
  });
});
