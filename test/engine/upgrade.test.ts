// A good upgrade v0.3.1 → v0.3.2 on the real Helm release: the canary pool rolls first while the
// real StatefulSet controller honours the partitions holding the later pools and the real
// Deployment controller the pause on the gateway; then every wave rolls, holds and KEDA's freeze
// are lifted and the gateway serves the new version. A second run while one holds the lock, and a
// tag the version policy refuses, change nothing.
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { history } from "../../automation/actions/history.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { acquireLock } from "../../automation/locks/fileLock.js";
import { helmHistory } from "../support/helmRelease.js";
import { sampleRollout } from "../support/rolloutSamples.js";
import { gatewayGet, holdsLeft, readyWorkerImages, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();

describe("upgrade on the real cluster", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  /** Everything a refused run must leave alone. */
  const untouched = async () => ({
    config: fs.readFileSync(fx.configFile, "utf8"),
    images: await workloadImages(fx),
    revisions: (await helmHistory(fx)).length,
  });

  it(
    "a good tag rolls the canary first while partitions and pauses hold the rest, then everything",
    async () => {
      const { result: r, samples } = await sampleRollout(fx, () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx));
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      expect(r.waves.map((w) => `${w.wave.name}:${w.status}`)).toEqual(expect.arrayContaining(["canary:succeeded", "gateway:succeeded", "config:succeeded"]));
      expect(r.waves[0]?.wave.name).toBe("canary");
      // A moment where the canary ran the new worker while the a100 pods stayed old although their
      // template was new (partition), and the paused gateway's pods stayed old.
      const held = samples.find((s) => s.canaryPods.some((i) => i.includes(":v0.3.2-")) && s.laterTemplate.includes(":v0.3.2-"));
      expect(held, `no sample with the canary upgraded; ${samples.length} samples`).toBeDefined();
      expect(held!.laterPartition).toBeGreaterThanOrEqual(held!.laterReplicas);
      expect(held!.laterPods.every((i) => i.includes(":v0.3.1-"))).toBe(true);
      expect(held!.gatewayPaused).toBe(true);
      expect(held!.gatewayPods.every((i) => i.endsWith(":v0.3.1"))).toBe(true);
      expect(samples.some((s) => s.frozen)).toBe(true);

      expect((await workloadImages(fx)).filter((i) => !i.includes(":v0.3.2"))).toEqual([]);
      expect(await readyWorkerImages(fx, "a100")).toEqual(["ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default"]);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: "0.3.2" });
      const [latest] = await history({ stack: fx.stack }, fx.ctx);
      expect(latest).toMatchObject({ kind: "update", result: "succeeded", imageTag: "v0.3.2", outcome: "succeeded", runId: r.runId });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a second upgrade while another run holds the lock is refused, naming the holder, and changes nothing",
    async () => {
      const before = await untouched();
      const lock = await acquireLock({ stateDir: fx.stateDir, stack: fx.stack, runId: "other-run", command: "upgrade --to v0.3.9" });
      try {
        await expect(upgrade({ stack: fx.stack, to: "v0.3.4" }, fx.ctx)).rejects.toThrow(/upgrade --to v0\.3\.9/);
      } finally {
        await lock.release();
      }
      expect(await untouched()).toEqual(before);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a tag the version policy refuses changes nothing",
    async () => {
      const before = await untouched();
      const r = await upgrade({ stack: fx.stack, to: "v0.9.0" }, fx.ctx);
      expect(r.outcome).toBe("refused");
      if (r.outcome === "refused") expect(r.refusedBy).toBe("policy");
      expect(await untouched()).toEqual(before);
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
