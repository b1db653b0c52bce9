import { describe, expect, it } from "vitest";
import { rolloutTiming } from "../../automation/actions/upgrade/timing.js";
import { NOT_READY_AFTER_MS } from "../../core/defaults.js";

const config = (platform: string, notReadySeconds?: number) => ({
  platform,
  rollout: { timeouts: { applySeconds: 1200, ...(notReadySeconds !== undefined ? { notReadySeconds } : {}) } },
});

describe("rolloutTiming", () => {
  it("on every platform, the local one included: the apply timeout and the chart's startup budgets", () => {
    expect(rolloutTiming(config("gke"), "pool")).toMatchObject({ timeoutMs: 1_200_000, notReadyAfterMs: NOT_READY_AFTER_MS.pool });
    expect(rolloutTiming(config("eks"), "gateway").notReadyAfterMs).toBe(NOT_READY_AFTER_MS.gateway);
    expect(rolloutTiming(config("local"), "pool")).toMatchObject({ timeoutMs: 1_200_000, notReadyAfterMs: NOT_READY_AFTER_MS.pool, pollMs: 200 });
  });

  it("rollout.timeouts.notReadySeconds replaces the budget on every platform and wave kind", () => {
    expect(rolloutTiming(config("kubernetes", 15), "pool").notReadyAfterMs).toBe(15_000);
    expect(rolloutTiming(config("gke", 90), "config").notReadyAfterMs).toBe(90_000);
    expect(rolloutTiming(config("local", 40), "pool").notReadyAfterMs).toBe(40_000);
  });
});
