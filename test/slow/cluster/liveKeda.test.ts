/**
 * Upgrades while KEDA is live (cluster/clusterKeda.ts: its real operator and metrics API server,
 * the cluster's real Prometheus), on the local stack deployed by the real engine: the freeze pins
 * every ScaledObject at the count it has (the min-0 pool KEDA took to zero at `paused-replicas: 0`,
 * probed at 1 while its wave runs) and the thaw gives scaling back to KEDA's HPAs; a run killed
 * mid-wave leaves the ScaledObjects frozen, and `recover` thaws them with scaling live again.
 * Its own cluster (the lane cluster of the engine lanes runs without KEDA). Skips, with the
 * reason, unless KEDA is built (`scripts/ensure-kube-tools --keda`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { recover } from "../../../automation/actions/recover.js";
import { upgrade } from "../../../automation/actions/upgrade.js";
import { prometheusUnavailable } from "../../../cluster/prometheus.js";
import { findKeda, findKubeTools } from "../../../cluster/tools.js";
import { scaledObjectName, workerStatefulSetName } from "../../../infra/release/releaseValues.js";
import { upgradeKilledMidWave } from "../../support/killedUpgrade.js";
import { kedaHpaOwners, useLiveStack } from "../../support/liveStack.js";
import { sampleWhile } from "../../support/sampleWhile.js";
import { holdsLeft, pausedAnnotations, SCENARIO_TIMEOUT_MS, waitFor, type StackFixture } from "../../support/stackFixture.js";
import { helmMissing } from "./sieRelease.js";

const tools = findKubeTools();
const keda = findKeda();
const skipReason = !tools.ok ? tools.reason : !keda.ok ? keda.reason : (helmMissing() ?? prometheusUnavailable());
if (skipReason) console.warn(`[live KEDA tests] skipped: ${skipReason}`);

/** The local stack's pool with minReplicas 0: idle, KEDA holds it at zero. */
const ZERO_POOL = "cpu";

describe.skipIf(skipReason !== undefined)(`upgrades under live KEDA${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const live = useLiveStack("live-keda");
  let fx: StackFixture;
  beforeAll(() => {
    fx = live();
  });

  const zeroPoolReplicas = async () =>
    (await fx.apps.readNamespacedStatefulSet({ namespace: fx.namespace, name: workerStatefulSetName(fx.fullname, ZERO_POOL) })).spec?.replicas;
  /** Live scaling: every ScaledObject has its HPA and the idle min-0 pool is at zero. */
  const scalingLive = async (what: string) => {
    const scaledObjects = Object.keys(await pausedAnnotations(fx)).sort();
    expect(scaledObjects).toHaveLength(3);
    await waitFor(what, async () => ((await kedaHpaOwners(fx)).join() === scaledObjects.join() && (await zeroPoolReplicas()) === 0 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
  };

  it(
    "freezes live ScaledObjects at their counts, the pool at zero at paused-replicas 0, and thaws them to live scaling",
    async () => {
      await scalingLive("KEDA's HPAs for every pool and the idle pool at zero");
      const { result: r, samples } = await sampleWhile(
        () => upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx),
        () => pausedAnnotations(fx),
        500,
      );
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      const zeroSo = scaledObjectName(fx.fullname, ZERO_POOL);
      // Frozen at zero, and at 1 only while its probe worker was checked.
      const zeroValues = new Set(samples.map((s) => s[zeroSo]).filter((v) => v !== undefined));
      expect([...zeroValues].sort()).toEqual(expect.arrayContaining(["0"]));
      expect([...zeroValues].every((v) => v === "0" || v === "1")).toBe(true);
      expect(samples.some((s) => Object.values(s).every((v) => v !== undefined))).toBe(true);

      expect(await holdsLeft(fx)).toEqual([]);
      await scalingLive("scaling live again after the thaw (HPAs back, the probed pool at zero)");
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a run killed mid-wave leaves KEDA frozen; recover thaws it and scaling is live again",
    async () => {
      const seen = await upgradeKilledMidWave(fx, fx.stack, "v0.3.3");
      expect(seen).toContain("phase:hold:succeeded");
      const frozen = await pausedAnnotations(fx);
      expect(Object.values(frozen).every((v) => v !== undefined)).toBe(true);
      // KEDA honours the freeze: its HPAs are gone while the annotations stand.
      await waitFor("KEDA to drop its HPAs while frozen", async () => ((await kedaHpaOwners(fx)).length === 0 ? true : undefined), { timeoutMs: 60_000 });

      const report = await recover({ stack: fx.stack }, fx.ctx);
      expect(["reverted", "finished"], report.message).toContain(report.action);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(Object.values(await pausedAnnotations(fx)).every((v) => v === undefined)).toBe(true);
      await scalingLive("scaling live again after recover");
    },
    SCENARIO_TIMEOUT_MS,
  );
});
