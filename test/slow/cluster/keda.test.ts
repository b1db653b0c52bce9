/**
 * The real KEDA operator on the test control plane: a ScaledObject becomes an HPA, and
 * `autoscaling.keda.sh/paused-replicas` (what the upgrade engine's KEDA freeze sets) makes KEDA
 * pin the target at that count and drop the HPA until the annotation goes. Opt-in: skips unless
 * `scripts/ensure-kube-tools --keda` has built the operator (a long cold build).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { startKedaOperator, type KedaOperator } from "../../../cluster/kedaOperator.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKedaOperator, findKubeTools } from "../../../cluster/tools.js";

const tools = findKubeTools();
const keda = findKedaOperator();
const skipReason = !tools.ok ? tools.reason : !keda.ok ? keda.reason : undefined;
if (skipReason) console.warn(`[keda tests] skipped: ${skipReason}`);

const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const NS = "sie";
const SO = { group: "keda.sh", version: "v1alpha1", plural: "scaledobjects", namespace: NS };

describe.skipIf(skipReason !== undefined)(`KEDA operator${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let cluster: ControlPlane;
  let operator: KedaOperator | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-keda-"));
    cluster = await startControlPlane({ dir });
    if (!keda.ok) return;
    operator = await startKedaOperator(cluster, keda.bin);
    const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor(
      "the default ServiceAccount",
      async () => ((await core.readNamespacedServiceAccount({ name: "default", namespace: NS })) ? true : undefined),
      { timeoutMs: 60_000 },
    );
  });

  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
    if (failed) console.warn(`[keda tests] logs kept in ${dir}/logs`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reconciles a ScaledObject into an HPA and honours paused-replicas", async () => {
    const kc = cluster.kubeConfig();
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const hpa = kc.makeApiClient(k8s.AutoscalingV2Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const labels = { app: "sie-worker" };
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "sie-worker" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "w", image: "ghcr.io/superlinked/sie-server:v1" }] } },
        },
      },
    });
    // A cron trigger needs no network: always "active", asking for 2 replicas.
    await custom.createNamespacedCustomObject({
      ...SO,
      body: {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: "sie-worker" },
        spec: {
          scaleTargetRef: { kind: "Deployment", name: "sie-worker" },
          minReplicaCount: 1,
          maxReplicaCount: 4,
          triggers: [{ type: "cron", metadata: { timezone: "UTC", start: "0 0 * * *", end: "59 23 * * *", desiredReplicas: "2" } }],
        },
      },
    });
    const made = await waitFor(
      "KEDA's HPA",
      async () => (await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.find((h) => h.metadata?.name === "keda-hpa-sie-worker"),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        watch: operator ? [operator.proc] : [],
      },
    );
    expect(made.spec?.minReplicas).toBe(1);
    expect(made.spec?.maxReplicas).toBe(4);
    expect(made.spec?.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "sie-worker" });

    await custom.patchNamespacedCustomObject(
      { ...SO, name: "sie-worker", body: { metadata: { annotations: { "autoscaling.keda.sh/paused-replicas": "3" } } } },
      MERGE,
    );
    await waitFor(
      "KEDA to pin the Deployment at 3",
      async () => ((await apps.readNamespacedDeployment({ name: "sie-worker", namespace: NS })).spec?.replicas === 3 ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    await waitFor(
      "the HPA to be removed while paused",
      async () => ((await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.length === 0 ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    const so = (await custom.getNamespacedCustomObject({ ...SO, name: "sie-worker" })) as { status?: { conditions?: { type: string; status: string }[] } };
    expect(so.status?.conditions?.find((c) => c.type === "Paused")?.status).toBe("True");

    await custom.patchNamespacedCustomObject(
      { ...SO, name: "sie-worker", body: { metadata: { annotations: { "autoscaling.keda.sh/paused-replicas": null } } } },
      MERGE,
    );
    await waitFor(
      "the HPA back after the thaw",
      async () => (await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.find((h) => h.metadata?.name === "keda-hpa-sie-worker"),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
  });
});
