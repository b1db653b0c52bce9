// The image pre-pull: each pool wave waits for its pool's pre-pull DaemonSet (the chart's, one per
// pool), so the workers start from an image already on their node and the later pools pull while
// the earlier waves roll; an image that cannot be pulled fails the canary wave before a single
// worker is replaced.
//
// The pulls are the embedded cluster's (cluster/endpoints/pullTimes.ts, imagePulls.ts): a node
// without the image pulls it once for the pull time and lists it in its `status.images`, as a
// kubelet does. The local stack's pools share the cluster's nodes of their GPU kind (6 L4, 4 A100
// 40 GB, 4 CPU), and the chart's DaemonSets roll one node at a time, so the l4 pre-pull is 6
// pulls in a row. Each run goes to a tag no node has yet: the nodes' caches outlive a test run.
import type * as k8s from "@kubernetes/client-node";
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { upgrade } from "../../automation/actions/upgrade.js";
import type { UpgradeResult } from "../../automation/actions/results.js";
import type { GateResult } from "../../core/types.js";
import { imagePrepullDaemonSet } from "../../core/workloads.js";
import { control, gatewayGet, holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();
const PULL_S = 6;
/** Tags no node has: the first test's good one, the second's a patch above it (a pre-release of a lower patch would be a downgrade). */
const PATCH = 100 + (Math.floor(Date.now() / 1000) % 800);

const gatesOf = (r: UpgradeResult, wave: string): GateResult[] => r.waves.find((w) => w.wave.name === wave)?.gates ?? [];
const seconds = (t: Date | string | undefined): number => (t === undefined ? Number.NaN : new Date(t).getTime() / 1000);

describe("image pre-pull before each pool wave", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  const setPulls = async (s: number | null) => expect((await control(fx, "pulls", { pulls: [{ namespace: fx.namespace, seconds: s }] })).status).toBe(200);
  const workerPods = async (pool: string): Promise<k8s.V1Pod[]> =>
    (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `app.kubernetes.io/component=worker,sie.superlinked.com/pool=${pool}` })).items;

  it(
    `a good version: the canary waits for the l4 pre-pull (${PULL_S} s pulls), its worker starts from the cached image, later pools pulled meanwhile`,
    async () => {
      const to = `v0.3.${PATCH}`;
      await setPulls(PULL_S);
      let r: UpgradeResult;
      try {
        r = await upgrade({ stack: fx.stack, to }, fx.ctx);
      } finally {
        await setPulls(null);
      }
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("succeeded");
      const l4 = imagePrepullDaemonSet(fx, "l4");
      const a100 = imagePrepullDaemonSet(fx, "a100");
      const canaryPull = gatesOf(r, "canary").find((g) => g.name === `rollout:DaemonSet/${l4}`);
      expect(canaryPull, JSON.stringify(gatesOf(r, "canary").map((g) => g.name))).toMatchObject({ status: "pass" });
      // At least one node pulled before the canary's worker was released.
      expect(canaryPull!.durationMs).toBeGreaterThanOrEqual(PULL_S * 1000);
      // The a100 pool's nodes pulled while the canary rolled: its wave waited less than the canary's.
      const laterPull = gatesOf(r, "pools-1").find((g) => g.name === `rollout:DaemonSet/${a100}`);
      expect(laterPull).toMatchObject({ status: "pass" });
      expect(laterPull!.durationMs).toBeLessThan(canaryPull!.durationMs);

      // The new l4 worker started without pulling: its node had the image, which the node lists.
      const [worker] = (await workerPods("l4")).filter((p) => p.spec?.containers[0]?.image?.includes(`:${to}-`));
      expect(worker, "a worker of the new version in pool l4").toBeDefined();
      const image = worker!.spec!.containers[0]!.image!;
      const node = (await fx.core.readNode({ name: worker!.spec!.nodeName! })).status?.images ?? [];
      expect(node.some((i) => i.names?.includes(image))).toBe(true);
      const waited = seconds(worker!.status?.containerStatuses?.[0]?.state?.running?.startedAt) - seconds(worker!.metadata?.creationTimestamp);
      expect(waited).toBeLessThan(PULL_S - 1);
      expect(await holdsLeft(fx)).toEqual([]);
      expect(await gatewayGet(fx, "/readyz")).toMatchObject({ status: 200, version: to.slice(1) });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "an image that cannot be pulled fails the canary wave at its pre-pull, before any worker is replaced, and is reverted",
    async () => {
      const to = `v0.3.${PATCH + 1}-pullerr`;
      const config = fs.readFileSync(fx.configFile);
      const images = await workloadImages(fx);
      const seenBad = new Set<string>();
      const watch = setInterval(() => {
        void workerPods("l4")
          .then((pods) => {
            for (const p of pods) if (p.spec?.containers[0]?.image?.includes("-pullerr")) seenBad.add(p.metadata?.name ?? "?");
          })
          .catch(() => undefined);
      }, 500);
      let r: UpgradeResult;
      try {
        r = await upgrade({ stack: fx.stack, to }, fx.ctx);
      } finally {
        clearInterval(watch);
      }
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r)).toBe("reverted");
      if (r.outcome !== "reverted") return;
      expect(r.waves.at(-1)?.wave.name).toBe("canary");
      expect(r.failedGate.name).toBe(`rollout:DaemonSet/${imagePrepullDaemonSet(fx, "l4")}`);
      expect(r.failedGate.message).toMatch(/cannot be pulled.*ErrImagePull/);
      // Not released: no l4 worker was ever recreated on the bad image.
      expect(gatesOf(r, "canary").some((g) => g.name.startsWith("rollout:StatefulSet/"))).toBe(false);
      expect([...seenBad]).toEqual([]);
      expect(fs.readFileSync(fx.configFile).equals(config)).toBe(true);
      expect(await workloadImages(fx)).toEqual(images);
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
