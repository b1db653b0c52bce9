// Switching a pool off and on again through the stack config: its StatefulSet (Helm) and its
// ScaledObject (Pulumi) go away together and come back together; the other pools are not touched.
import { describe, expect, it } from "vitest";
import { upStack } from "../../automation/engine/operations.js";
import { SCENARIO_TIMEOUT_MS, useStackFixture, waitFor, waitReleaseReady, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture();

const names = async (fx: StackFixture) => ({
  statefulSets: (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items.map((s) => s.metadata!.name!).sort(),
  scaledObjects: (
    (await fx.custom.listNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: fx.namespace, plural: "scaledobjects" })) as {
      items: { metadata: { name: string } }[];
    }
  ).items
    .map((s) => s.metadata.name)
    .sort(),
});
const l4Pods = async (fx: StackFixture) =>
  (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=l4" })).items
    .map((p) => p.metadata!.uid)
    .sort();

describe("pools on and off", () => {
  it(
    "disabling a pool removes its StatefulSet and its ScaledObject, and only those",
    async () => {
      const fx = fixture();
      const pods = await l4Pods(fx);
      fx.writeConfig((c) => {
        c["sie-fleet:pools"].a100.enabled = false;
        // A pool without workers cannot be in the wave order (config validation says so, naming the key).
        c["sie-fleet:rollout"].waveOrder = ["cpu"];
      });
      await upStack(await fx.open());
      await waitFor("the a100 StatefulSet to be gone", async () => ((await names(fx)).statefulSets.includes(`${fx.fullname}-worker-a100`) ? undefined : true));
      expect(await names(fx)).toEqual({
        statefulSets: [`${fx.fullname}-worker-cpu`, `${fx.fullname}-worker-l4`],
        scaledObjects: [`${fx.fullname}-worker-cpu-scaler`, `${fx.fullname}-worker-l4-scaler`],
      });
      expect(await l4Pods(fx)).toEqual(pods);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "enabling it again brings both back, at the pool's minReplicas",
    async () => {
      const fx = fixture();
      fx.writeConfig();
      await upStack(await fx.open());
      await waitReleaseReady(fx);
      expect(await names(fx)).toEqual({
        statefulSets: [`${fx.fullname}-worker-a100`, `${fx.fullname}-worker-cpu`, `${fx.fullname}-worker-l4`],
        scaledObjects: [`${fx.fullname}-worker-a100-scaler`, `${fx.fullname}-worker-cpu-scaler`, `${fx.fullname}-worker-l4-scaler`],
      });
      const a100 = await fx.apps.readNamespacedStatefulSet({ name: `${fx.fullname}-worker-a100`, namespace: fx.namespace });
      expect(a100.spec?.replicas).toBe(1);
      expect(a100.status?.readyReplicas).toBe(1);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
