// A stack that pins the gateway and config images (release.gatewayTag/configTag) apart from the
// workers' imageTag: an upgrade moves the workers only, and the gateway and config gates (their
// images and request samples) must judge those components by the tag they run, the pinned one.
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import type { GateResult } from "../../core/types.js";
import { gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, type StackFixture, useStackFixture, workloadImages } from "../support/stackFixture.js";

const fixture = useStackFixture({
  config: (c) => {
    c["sie-fleet:pools"] = { l4: { ...c["sie-fleet:pools"].l4, maxNodes: 1, minReplicas: 1, maxReplicas: 1 } };
    c["sie-fleet:rollout"] = { ...c["sie-fleet:rollout"], waveOrder: [] };
    c["sie-fleet:release"] = { ...c["sie-fleet:release"], gatewayTag: "v0.3.1", configTag: "v0.3.1" };
  },
});

describe("gateway and config pinned apart from the workers", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  it(
    "an upgrade of the workers passes the gateway and config gates against the pinned tag",
    async () => {
      const r = await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r.outcome).slice(0, 3000)).toBe("succeeded");
      const gates: GateResult[] = [...r.waves.flatMap((w) => w.gates), ...r.gates];
      expect(gates.filter((g) => g.status === "fail").map((g) => `${g.name}: ${g.message}`)).toEqual([]);
      for (const name of ["gateway-sample", "config-sample"]) {
        const sample = gates.filter((g) => g.name === name);
        expect(sample.length, name).toBeGreaterThan(0);
        expect(
          sample.every((g) => g.status === "pass"),
          JSON.stringify(sample).slice(0, 2000),
        ).toBe(true);
      }
      const images = await workloadImages(fx);
      expect(images.filter((i) => i.includes("worker"))).toEqual([expect.stringMatching(/:v0\.3\.2-/)]);
      expect(
        images.filter((i) => !i.includes("worker")).every((i) => i.endsWith(":v0.3.1")),
        images.join("\n"),
      ).toBe(true);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200 });
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
