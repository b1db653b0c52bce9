// Every fault tag the rollout and endpoint gates can see is caught in the canary wave and
// reverted: the stack file byte-identical, every image back, partitions and pauses lifted, KEDA
// thawed, the gateway serving the old version. kwok plays each fault from the image tag (pods in
// CrashLoopBackOff, ImagePullBackOff, never Ready); the endpoint server fails -5xx encodes.
// (-slow and -errors10 pass these gates; the metric gates catch them: metricGates.test.ts.)
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import { gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();

describe("fault tags reverted in the canary wave", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  it.each([
    ["v0.3.2-crashloop", /CrashLoopBackOff/],
    ["v0.3.2-pullerr", /ImagePullBackOff|ErrImagePull/],
    ["v0.3.2-noready", /NotReady|0 of 1 pods ready; gave up after/],
    ["v0.3.2-5xx", /encode/i],
  ])(
    "%s fails the canary and is reverted to exactly what ran before",
    async (tag, reason) => {
      const config = fs.readFileSync(fx.configFile);
      const images = await workloadImages(fx);
      const r = await upgrade({ stack: fx.stack, to: tag }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(r.failedGate.message).toMatch(reason);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await workloadImages(fx)).toEqual(images);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: "0.3.1" });
    },
    SCENARIO_TIMEOUT_MS,
  );
});
