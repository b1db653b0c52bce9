// KEDA's fallback never starts GPU workers that demand did not ask for.
import { describe, expect, it } from "vitest";
import { parseConfig, validateConfig } from "../../../infra/configParse.js";
import { chartFullname } from "../../../infra/releaseValues.js";
import { buildScaledObjects } from "../../../infra/scaledObjects.js";
import { gkeRaw, withValue, type Raw } from "./fixtures.js";

const fallbackByPool = (raw: Raw) => {
  const cfg = parseConfig(raw);
  return Object.fromEntries(buildScaledObjects(cfg, chartFullname(cfg)).map((so) => [so.metadata.labels["sie.superlinked.com/pool"], so.spec.fallback]));
};

describe("fallback replicas", () => {
  it("default to each pool's minReplicas", () => {
    const raw = withValue(gkeRaw(), "pools.l4.minReplicas", 2);
    expect(parseConfig(raw).autoscaling.fallbackReplicas).toBeUndefined();
    expect(fallbackByPool(raw)).toEqual({
      l4: { failureThreshold: 3, replicas: 2 },
      "a100-40": { failureThreshold: 3, replicas: 0 },
      "a100-80": { failureThreshold: 3, replicas: 0 },
    });
  });

  it("an explicit value applies to every pool, above minReplicas too (capacity during an outage)", () => {
    expect(fallbackByPool(withValue(gkeRaw(), "autoscaling.fallbackReplicas", 1))).toEqual({
      l4: { failureThreshold: 3, replicas: 1 },
      "a100-40": { failureThreshold: 3, replicas: 1 },
      "a100-80": { failureThreshold: 3, replicas: 1 },
    });
  });

  it("an explicit value above a pool's maxReplicas is an error naming the pools", () => {
    // a100-80: 1 node × 1 GPU = 1 worker at most; a100-40: 2 nodes × 2 = 4; l4: 4. The system pool runs no workers.
    const r = validateConfig(withValue(gkeRaw(), "autoscaling.fallbackReplicas", 2));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      {
        key: "sie-fleet:autoscaling.fallbackReplicas",
        reason: "2 is above the maxReplicas of pool(s) a100-80 (1)",
        hint: "lower it to at most 1, or remove it so each pool falls back to its minReplicas",
      },
    ]);
    expect(validateConfig(withValue(gkeRaw(), "autoscaling.fallbackReplicas", 0)).ok).toBe(true);
  });
});
