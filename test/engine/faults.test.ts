// Each simulator fault that a rollout or endpoint gate can see is caught in the canary wave and
// ends `reverted`, with the config file and the running images exactly as before.
// (-slow and -errors10 need the metric gates of the verification suite.)
import * as fs from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import { ENGINE_TEST_TIMEOUT_MS, useEngineFixture, workloadImages, type EngineFixture } from "./harness.js";

const fixture = useEngineFixture();
let fx: EngineFixture;
beforeEach(() => {
  fx = fixture();
});

const images = () => workloadImages(fx);

describe.each([
  ["v0.3.2-pullerr", /ImagePullBackOff|ErrImagePull/],
  ["v0.3.2-noready", /NotReady|not Ready/i],
  ["v0.3.2-5xx", /encode.*failed/],
])("fault tag %s", (tag, reason) => {
  it(
    "is detected in the canary wave and reverted",
    async () => {
      const config = fs.readFileSync(fx.configFile);
      const before = await images();
      const r = await upgrade({ stack: "local", to: tag }, fx.ctx);
      expect(r.outcome).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(r.failedGate.message).toMatch(reason);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await images()).toEqual(before);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
