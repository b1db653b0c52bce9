/**
 * `pulumi up` of a `kubernetes`-platform stack (`cluster.deployWith: objects`) through the real
 * engine against the real control plane: the chart's objects and the KEDA ScaledObjects land in
 * the API server, the real scheduler puts each pool's workers only on nodes whose GPU labels and
 * taints match, and the SIE endpoint server (cluster/endpoints) serves the release's version from
 * the Ready pods.
 */
import * as fs from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { previewStack, upStack } from "../../../automation/engine/operations.js";
import { GPU_TAINT } from "../../../infra/gpu-profiles.js";
import { waitFor } from "../../../cluster/procs.js";
import { FULLNAME, NS, SCENARIO_TIMEOUT_MS, gatewayGet, stackFile, useClusterStack, waitReleaseReady, type ClusterStack } from "./stack.js";
import { findKubeTools } from "../../../cluster/tools.js";

const tools = findKubeTools();
if (!tools.ok) console.warn(`[cluster tests] skipped: ${tools.reason}`);

describe.skipIf(!tools.ok)(`platform kubernetes on the real control plane${tools.ok ? "" : ` (skipped: ${tools.reason})`}`, () => {
  const fixture = useClusterStack();
  let fx: ClusterStack;
  beforeEach(() => {
    fx = fixture();
  });

  it("pulumi up installs the release's objects and the ScaledObjects", async () => {
    const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: NS })).items.map((s) => s.metadata?.name).sort();
    expect(sts).toEqual([`${FULLNAME}-worker-a100`, `${FULLNAME}-worker-l4`]);
    const deps = (await fx.apps.listNamespacedDeployment({ namespace: NS })).items.map((d) => d.metadata?.name).sort();
    expect(deps).toEqual([`${FULLNAME}-config`, `${FULLNAME}-gateway`]);
    const so = (await fx.custom.getNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects", name: `${FULLNAME}-worker-l4-scaler` })) as any;
    expect(so.spec.scaleTargetRef).toMatchObject({ kind: "StatefulSet", name: `${FULLNAME}-worker-l4` });
    expect(so.spec.minReplicaCount).toBe(1);
    // The stack outputs name the kubeconfig file (a secret output), never its content.
    const outputs = await (await fx.open()).stack.outputs();
    expect(outputs.kubeconfig).toMatchObject({ value: fx.cluster.kubeconfigPath, secret: true });
    expect(outputs.pools?.value).toMatchObject({ l4: { statefulSet: `${FULLNAME}-worker-l4`, scaledObject: `${FULLNAME}-worker-l4-scaler` } });
    // And the state holds the path only: no certificate or key from the kubeconfig.
    const keyData = fx.cluster.kubeConfig().getCurrentUser()?.keyData;
    expect(keyData?.length).toBeGreaterThan(100);
    const state = (await (await fx.open()).stack.exportStack()).deployment;
    expect(JSON.stringify(state)).not.toContain(keyData!);
  });

  it("workers run only on the nodes of their pool (the real scheduler, GPU labels and taints)", async () => {
    const pods = (await fx.core.listNamespacedPod({ namespace: NS })).items;
    const nodes = new Map((await fx.core.listNode()).items.map((n) => [n.metadata!.name!, n]));
    // Workers only: the chart's image pre-pull DaemonSet pods carry the pool label too.
    const byPool = (pool: string) => pods.filter((p) => p.metadata?.labels?.["sie.superlinked.com/pool"] === pool && p.metadata?.labels?.["app.kubernetes.io/component"] === "worker");
    for (const [pool, accel] of [["l4", "nvidia-l4"], ["a100", "nvidia-tesla-a100"]] as const) {
      expect(byPool(pool).length).toBe(1);
      for (const p of byPool(pool)) {
        const node = nodes.get(p.spec!.nodeName!)!;
        expect(node.metadata?.labels?.["cloud.google.com/gke-accelerator"]).toBe(accel);
        expect(p.spec?.tolerations).toContainEqual(expect.objectContaining({ key: GPU_TAINT.key, effect: GPU_TAINT.effect }));
      }
    }
    // The gateway and config pods tolerate no GPU taint, so they land on the CPU node.
    for (const p of pods.filter((p) => ["gateway", "config"].includes(p.metadata?.labels?.["app.kubernetes.io/component"] ?? ""))) {
      expect(nodes.get(p.spec!.nodeName!)!.spec?.taints ?? []).toEqual([]);
    }
  });

  it("the endpoint server serves the version of the Ready pods", async () => {
    const r = await gatewayGet(fx, "/readyz");
    expect(r.status).toBe(200);
    expect(r.version).toBe("0.3.1");
    expect(r.body).toMatchObject({ status: "ready", healthy_workers: 2 });
  });

  it("a second up and a refresh see no drift (API defaults and quantities are not drift)", async () => {
    const s = await fx.open();
    await s.stack.refresh({ color: "never" });
    const preview = await previewStack(s);
    expect(preview.changeSummary, JSON.stringify(preview.steps.filter((st) => st.detailedDiff))).toEqual({ same: expect.any(Number) });
  }, SCENARIO_TIMEOUT_MS);

  it("a pool whose nodes do not exist stays Pending, the others are untouched", async () => {
    // An A100 80 GB pool: no such node in this cluster, so the scheduler cannot place it.
    fs.writeFileSync(
      fx.configFile,
      stackFile(fx.cluster.kubeconfigPath, {
        l4: { gpu: "l4", nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-l4" }, minReplicas: 1, maxReplicas: 2 },
        a100: { gpu: "a100-40gb", nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-tesla-a100" } },
        a100big: { gpu: "a100-80gb", nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-a100-80gb" } },
      }),
    );
    await upStack(await fx.open());
    const pending = await waitFor(
      "the a100big worker to be reported unschedulable",
      async () => {
        const p = (await fx.core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/component=worker,sie.superlinked.com/pool=a100big" })).items[0];
        const cond = p?.status?.conditions?.find((c) => c.type === "PodScheduled");
        return cond?.status === "False" ? { pod: p!, cond } : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(pending.pod.status?.phase).toBe("Pending");
    expect(pending.cond.reason).toBe("Unschedulable");
    expect(pending.pod.spec?.nodeName).toBeUndefined();
    expect((await gatewayGet(fx, "/readyz")).body).toMatchObject({ healthy_workers: 2 });
    // Removing the pool deletes its StatefulSet; the release is whole again.
    fs.writeFileSync(fx.configFile, stackFile(fx.cluster.kubeconfigPath));
    await upStack(await fx.open());
    await waitReleaseReady(fx);
    const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: NS })).items.map((s) => s.metadata?.name);
    expect(sts).not.toContain(`${FULLNAME}-worker-a100big`);
  }, SCENARIO_TIMEOUT_MS);
});
