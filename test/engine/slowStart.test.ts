// GPU workers take minutes to start: a good version whose canary worker needs 90 s to pass its
// startup probe is waited for and verified, not reverted, with the stack's own rollout timing;
// a version whose gateway never passes its startup probe is caught when the kubelet kills it at
// the chart's startup budget (5 s + 12 × 5 s = 65 s), and reverted.
//
// The start delays are the embedded cluster's (cluster/endpoints/startDelays.ts): kwok keeps the
// container Running, unstarted and unready for the delay, or kills it at its probe budget, as the
// kubelet does with the chart's probes. Nothing in the engine knows about them.
import * as fs from "node:fs";
import type * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import { control, gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();
const WORKER_START_S = 90;
const GATEWAY_STARTUP_BUDGET_S = 5 + 12 * 5;

const waveMs = (r: UpgradeResult, name: string): number => {
  const w = r.waves.find((x) => x.wave.name === name);
  return w?.startedAt && w.finishedAt ? Date.parse(w.finishedAt) - Date.parse(w.startedAt) : Number.NaN;
};

describe("workers that take minutes to start", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  const setStarts = async (starts: Record<string, unknown>[]) => expect((await control(fx, "starts", { starts })).status).toBe(200);

  it(
    `a good version whose canary worker starts in ${WORKER_START_S} s is waited for and verified, not reverted`,
    async () => {
      const target = { namespace: fx.namespace, component: "worker", pool: "l4" };
      await setStarts([{ ...target, seconds: WORKER_START_S }]);
      let r: UpgradeResult;
      const seen: k8s.V1Pod[] = [];
      const watch = setInterval(() => {
        void fx.core
          .listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=l4" })
          .then((l) => seen.push(...l.items.filter((p) => p.spec?.containers[0]?.image?.includes(":v0.3.2-"))))
          .catch(() => undefined);
      }, 2000);
      try {
        r = await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
      } finally {
        clearInterval(watch);
        await setStarts([{ ...target, seconds: null }]);
      }
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      expect(waveMs(r, "canary")).toBeGreaterThanOrEqual(WORKER_START_S * 1000);
      // While it loaded, the new worker ran unstarted and unready, as the kubelet reports a
      // container whose startup probe has not passed.
      const loading = seen.find((p) => p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.started === false);
      expect(loading, `no sample of the new l4 worker still starting among ${seen.length}`).toBeDefined();
      expect(loading!.status!.conditions!.find((c) => c.type === "Ready")?.status).toBe("False");
      expect(await holdsLeft(fx)).toEqual([]);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: "0.3.2" });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a gateway that never passes its startup probe is killed at the chart's budget, caught then and reverted",
    async () => {
      const from = (await workloadImages(fx))
        .find((i) => i.includes("sie-gateway:"))!
        .split(":")
        .pop()!;
      const to = "v0.3.3";
      const target = { namespace: fx.namespace, component: "gateway", version: to };
      const config = fs.readFileSync(fx.configFile);
      await setStarts([{ ...target, seconds: 3600 }]);
      let r: UpgradeResult;
      try {
        r = await upgrade({ stack: fx.stack, to }, fx.ctx);
      } finally {
        await setStarts([{ ...target, seconds: null }]);
      }
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("gateway");
      expect(r.failedGate.message).toMatch(/CrashLoopBackOff/);
      // Caught when the budget ran out, not before (the pod was only slow until then) and not
      // much later (the kill is the kubelet's verdict).
      const gatewayMs = waveMs(r, "gateway");
      expect(gatewayMs).toBeGreaterThanOrEqual(GATEWAY_STARTUP_BUDGET_S * 1000);
      expect(gatewayMs).toBeLessThan((GATEWAY_STARTUP_BUDGET_S + 30) * 1000);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: from.replace(/^v/, "") });
    },
    SCENARIO_TIMEOUT_MS,
  );
});
