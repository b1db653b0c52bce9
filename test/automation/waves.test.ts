import { describe, expect, it } from "vitest";
import { ConfigError } from "../../automation/errors.js";
import { allTargets, planWaves, waveTargets } from "../../automation/waves.js";

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

  it("maps waves to the chart's object names", () => {
    const names = { fullname: "sie" };
    const waves = planWaves({ pools: ["l4", "cpu"] });
    expect(waveTargets(waves[0]!, names)).toEqual({ statefulSets: ["sie-worker-l4"], deployments: [] });
    expect(allTargets(waves, names)).toEqual({ statefulSets: ["sie-worker-l4", "sie-worker-cpu"], deployments: ["sie-gateway", "sie-config"] });
  });
});
