// The local platform on the real Pulumi engine: up, a tag change, preview, refresh of drift made
// through the cluster API, export/import, destroy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewStack, setConfigPath, stackHistory, upStack } from "../../automation/engine/operations.js";
import { rawConfig } from "../../automation/actions/context.js";
import { CLI_BUILD_TIMEOUT_MS, ENGINE_TEST_TIMEOUT_MS, engineFixture, ensureCli, getJson, type EngineFixture } from "./harness.js";

let fx: EngineFixture;

beforeAll(async () => {
  await ensureCli();
  fx = await engineFixture();
}, CLI_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await fx?.cleanup();
});

async function kube(path: string, init?: RequestInit) {
  const r = await fetch(`${fx.sim.api}${path}`, init);
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

describe("local stack on the real engine", () => {
  it(
    "up creates the deployment, a tag change updates only the release, history records both configs",
    async () => {
      const s = await fx.open(true);
      const first = await upStack(s);
      expect(first.result).toBe("succeeded");
      expect(first.resourceChanges.create).toBeGreaterThanOrEqual(8);

      const sts = await kube("/apis/apps/v1/namespaces/sie/statefulsets/sie-sie-cluster-worker-l4");
      expect(sts.status).toBe(200);
      expect(sts.body.spec.template.spec.containers[0].image).toBe("ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default");
      const so = await kube("/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler");
      expect(so.body.spec.scaleTargetRef).toMatchObject({ kind: "StatefulSet", name: "sie-sie-cluster-worker-l4" });

      // The simulator serves the configured tag once pods are ready.
      let version: string | null = null;
      for (let i = 0; i < 100 && version !== "0.3.1"; i++) {
        version = (await getJson(`${fx.sim.gateway}/healthz`)).headers.get("x-sie-server-version");
        if (version !== "0.3.1") await new Promise((r) => setTimeout(r, 100));
      }
      expect(version).toBe("0.3.1");

      await setConfigPath(s, "sie-fleet:release.imageTag", "v0.3.2");
      const pv = await previewStack(s);
      const changed = pv.steps.filter((st) => st.op !== "same" && !st.type.startsWith("pulumi:providers:"));
      expect(changed.map((c) => `${c.op} ${c.type}`)).toEqual(["update pulumi-nodejs:dynamic/sie-local:Release"]);

      const second = await upStack(s);
      expect(second.result).toBe("succeeded");
      const rolled = await kube("/apis/apps/v1/namespaces/sie/deployments/sie-sie-cluster-gateway");
      expect(rolled.body.spec.template.spec.containers[0].image).toBe("ghcr.io/superlinked/sie-gateway:v0.3.2");

      const hist = await stackHistory(s);
      const updates = hist.filter((h) => h.kind === "update");
      expect(updates).toHaveLength(2);
      const tags = updates.map((u) => (rawConfig(u.config)["sie-fleet:release"] as { imageTag: string }).imageTag);
      expect(tags).toEqual(["v0.3.2", "v0.3.1"]);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "refresh finds drift made through the cluster API, and up repairs it",
    async () => {
      const s = await fx.open();
      const patch = await kube("/apis/apps/v1/namespaces/sie/deployments/sie-sie-cluster-config", {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { template: { spec: { containers: [{ name: "config", image: "ghcr.io/superlinked/sie-config:hand-edited" }] } } } }),
      });
      expect(patch.status).toBe(200);
      const refreshed = await s.stack.refresh();
      expect(refreshed.summary.resourceChanges?.update).toBe(1);
      const pv = await previewStack(s);
      expect(pv.steps.some((st) => st.op === "update" && st.type === "pulumi-nodejs:dynamic/sie-local:Release")).toBe(true);
      await upStack(s);
      const repaired = await kube("/apis/apps/v1/namespaces/sie/deployments/sie-sie-cluster-config");
      expect(repaired.body.spec.template.spec.containers[0].image).toBe("ghcr.io/superlinked/sie-config:v0.3.2");
    },
    ENGINE_TEST_TIMEOUT_MS,
  );

  it(
    "export/import round-trips the state, and destroy removes everything",
    async () => {
      const s = await fx.open();
      const exported = await s.stack.exportStack();
      await s.stack.importStack(exported);
      const again = await s.stack.exportStack();
      expect((again.deployment as { resources: unknown[] }).resources).toEqual((exported.deployment as { resources: unknown[] }).resources);
      const nothing = await previewStack(s);
      expect(nothing.steps.filter((st) => st.op !== "same" && !st.type.startsWith("pulumi:providers:"))).toEqual([]);

      const destroyed = await s.stack.destroy();
      expect(destroyed.summary.result).toBe("succeeded");
      expect((await kube("/apis/apps/v1/namespaces/sie/statefulsets/sie-sie-cluster-worker-l4")).status).toBe(404);
      expect((await kube("/apis/keda.sh/v1alpha1/namespaces/sie/scaledobjects/sie-sie-cluster-worker-l4-scaler")).status).toBe(404);
    },
    ENGINE_TEST_TIMEOUT_MS,
  );
});
