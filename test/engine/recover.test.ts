// A CLI run SIGKILLed in the middle of a wave leaves holds, a frozen KEDA and a half-applied
// stack on the real release; `recover` brings it back to a verified version from the journal
// alone, and a second `recover` finds nothing to do.
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { recover } from "../../automation/actions/recover.js";
import { verify } from "../../automation/actions/verify.js";
import { upgradeKilledMidWave } from "../support/killedUpgrade.js";
import { gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();

describe("recover after SIGKILL", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  it(
    "a run killed mid-wave is recovered to a verified version, KEDA thawed, holds lifted",
    async () => {
      const before = fs.readFileSync(fx.configFile);
      const seen = await upgradeKilledMidWave(fx, fx.stack, "v0.3.2");
      expect(seen).toContain("phase:hold:succeeded");
      // The kill left the stack half way: config changed, workloads held, KEDA frozen.
      expect(fs.readFileSync(fx.configFile).equals(before)).toBe(false);
      expect((await holdsLeft(fx)).filter((h) => h.startsWith("ScaledObject/"))).not.toEqual([]);

      const report = await recover({ stack: fx.stack }, fx.ctx);
      expect(["reverted", "finished"], report.message).toContain(report.action);
      expect(await holdsLeft(fx)).toEqual([]);
      const v = await verify({ stack: fx.stack }, fx.ctx);
      expect(v.gates.filter((g) => g.status === "fail")).toEqual([]);
      const version = (await gatewayGet(fx, "/readyz")).version;
      expect(["0.3.1", "0.3.2"]).toContain(version);
      expect((await workloadImages(fx)).every((i) => i.includes(`:v${version}`))).toBe(true);
      if (report.action === "reverted") expect(fs.readFileSync(fx.configFile).equals(before)).toBe(true);
      expect((await recover({ stack: fx.stack }, fx.ctx)).action).toBe("none");
    },
    SCENARIO_TIMEOUT_MS,
  );
});
