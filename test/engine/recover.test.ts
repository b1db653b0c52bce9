// A run SIGKILLed in the middle of a wave leaves holds, a frozen KEDA and a half-applied stack;
// `recover` must bring it back to a verified state from the journal alone.
import * as fs from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { recover } from "../../automation/actions/recover.js";
import { verify } from "../../automation/actions/verify.js";
import { ENGINE_TEST_TIMEOUT_MS, upgradeKilledMidWave, useEngineFixture, type EngineFixture } from "./harness.js";

const fixture = useEngineFixture();
let fx: EngineFixture;
beforeEach(() => {
  fx = fixture();
});


describe("recover after SIGKILL", () => {
  it(
    "a run killed mid-wave is reverted to its snapshot, KEDA thawed, holds lifted, verified",
    async () => {
      const before = fs.readFileSync(fx.configFile);
      const seen = await upgradeKilledMidWave(fx, "local", "v0.3.2");
      expect(seen).toContain("phase:hold:succeeded");
      // The kill left the stack half way: config changed, workloads held, KEDA frozen.
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(false);
      const so = (await (await fetch(`${fx.sim.api}/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler`)).json()) as any;
      expect(so.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]).toBeDefined();

      const report = await recover({ stack: "local" }, fx.ctx);
      expect(report.action).toBe("reverted");
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      const after = (await (await fetch(`${fx.sim.api}/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler`)).json()) as any;
      expect(after.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]).toBeUndefined();
      const v = await verify({ stack: "local" }, fx.ctx);
      expect(v.gates.filter((g) => g.status === "fail")).toEqual([]);

      // Nothing is left to recover, and the stack can be upgraded again.
      expect((await recover({ stack: "local" }, fx.ctx)).action).toBe("none");
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
