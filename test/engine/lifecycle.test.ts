// The local stack's life on the real Pulumi engine, the real Helm release and the lane's cluster:
// up serves the configured tag, a tag change previews as exactly one update (the Helm release)
// and rolls out, history records both configs, export/import round-trips the state, and destroy
// removes everything, the Helm release included.
import { beforeAll, describe, expect, it } from "vitest";
import { rawConfig } from "../../automation/actions/context.js";
import { previewStack, setConfigPath, stackHistory, upStack } from "../../automation/engine/operations.js";
import { helm } from "../chart/helm.js";
import { helmHistory, RELEASE } from "../support/helmRelease.js";
import { gatewayGet, SCENARIO_TIMEOUT_MS, useStackFixture, waitFor, waitReleaseReady, workloadImages, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture({ deploy: false });
const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** Steps that change something, leaving out providers (they carry no infrastructure). */
const changes = (steps: { op: string; type: string }[]) =>
  steps.filter((st) => st.op !== "same" && !st.type.startsWith("pulumi:providers:")).map((st) => `${st.op} ${st.type}`);

describe("local stack lifecycle on the real engine", () => {
  let fx: StackFixture;
  beforeAll(() => {
    fx = fixture();
  });

  it(
    "up installs the release and the gateway serves the configured tag",
    async () => {
      const up = await upStack(await fx.open(true));
      expect(up.result).toBe("succeeded");
      expect(changes(await previewStack(await fx.open()).then((p) => p.steps))).toEqual([]);
      await waitReleaseReady(fx);
      expect(await workloadImages(fx)).toContain(`${fx.fullname}-worker-l4=ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default`);
      const so = (await fx.custom.getNamespacedCustomObject({
        group: "keda.sh",
        version: "v1alpha1",
        namespace: fx.namespace,
        plural: "scaledobjects",
        name: `${fx.fullname}-worker-l4-scaler`,
      })) as { spec: unknown };
      expect(so.spec).toMatchObject({ scaleTargetRef: { kind: "StatefulSet", name: `${fx.fullname}-worker-l4` } });
      expect(await gatewayGet(fx, "/healthz")).toMatchObject({ status: 200, version: "0.3.1" });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a tag change previews as exactly one update, of the Helm release, and up rolls it out",
    async () => {
      const s = await fx.open();
      await setConfigPath(s, "sie-fleet:release.imageTag", "v0.3.2");
      expect(changes((await previewStack(s)).steps)).toEqual([`update ${RELEASE_TYPE}`]);
      expect((await upStack(s)).result).toBe("succeeded");
      // No holds here: a plain up lets the controllers roll every workload at once.
      await waitReleaseReady(fx);
      expect((await workloadImages(fx)).filter((i) => !i.includes(":v0.3.2"))).toEqual([]);
      await waitFor("the gateway to serve 0.3.2", async () => ((await gatewayGet(fx, "/healthz")).version === "0.3.2" ? true : undefined));
      expect((await helmHistory(fx)).map((r) => r.revision)).toEqual([1, 2]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it("history records each update's config", async () => {
    const updates = (await stackHistory(await fx.open())).filter((h) => h.kind === "update");
    const tags = updates.map((u) => (rawConfig(u.config ?? {})["sie-fleet:release"] as { imageTag: string }).imageTag);
    expect(tags).toEqual(["v0.3.2", "v0.3.1"]);
  });

  it(
    "export/import round-trips the state; nothing to change after it",
    async () => {
      const s = await fx.open();
      const exported = await s.stack.exportStack();
      await s.stack.importStack(exported);
      const again = await s.stack.exportStack();
      expect((again.deployment as { resources: unknown[] }).resources).toEqual((exported.deployment as { resources: unknown[] }).resources);
      expect(changes((await previewStack(s)).steps)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "destroy removes everything: workloads, ScaledObjects, the Helm release and the namespace",
    async () => {
      const s = await fx.open();
      expect((await s.stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
      const releases = JSON.parse(
        await helm(["list", "--all", "--namespace", fx.namespace, "--kubeconfig", fx.cluster.kubeconfigPath, "--output", "json"]),
      ) as unknown[];
      expect(releases).toEqual([]);
      await expect(helmHistory(fx)).rejects.toThrow(new RegExp(`release: not found|${RELEASE}`));
      // The namespace goes last, with whatever the release left in it.
      await waitFor("the namespace to be gone", async () => ((await fx.core.readNamespace({ name: fx.namespace }).catch(() => undefined)) ? undefined : true), {
        timeoutMs: 120_000,
        intervalMs: 1000,
      });
      expect((await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items).toEqual([]);
      const sos = (await fx.custom.listNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: fx.namespace, plural: "scaledobjects" })) as {
        items: unknown[];
      };
      expect(sos.items).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
