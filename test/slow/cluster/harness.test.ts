/**
 * The test control plane is real Kubernetes: the StatefulSet and Deployment controllers honour
 * partitions and pauses, the scheduler honours nodeSelectors, taints and GPU capacity, kwok
 * turns image-tag faults into the pod states the upgrade engine watches for, and KEDA's API is
 * served. Skips (with the reason) when scripts/ensure-kube-tools has not built the binaries.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkPod, isPodReady } from "../../../automation/kube/podHealth.js";
import { GPU_LABEL, GPU_TAINT, NODE_POOL_LABEL, tolerationsFor } from "../../../infra/hardware/gpuProfiles.js";
import { startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { fleet, GKE_ACCELERATOR_LABEL } from "../../../cluster/nodes.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKubeTools } from "../../../cluster/tools.js";

const tools = findKubeTools();
if (!tools.ok) console.warn(`[cluster tests] skipped: ${tools.reason}`);

const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const NS = "sie";
const IMAGE = "ghcr.io/superlinked/sie-server";

describe.skipIf(!tools.ok)(`real control plane${tools.ok ? "" : ` (skipped: ${tools.reason})`}`, () => {
  let cluster: ControlPlane;
  let dir: string;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-cluster-"));
    // One node per pool, so where each pod lands and when the L4 GPU runs out are certain.
    const nodes = fleet("gke", [
      { kind: "l4", pool: "l4", count: 1 },
      { kind: "a100-40gb", pool: "a100", count: 1 },
      { kind: "cpu", pool: "cpu", count: 1 },
    ]);
    cluster = await startControlPlane({ dir, nodes });
    const kc = cluster.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor(
      "the default ServiceAccount in the test namespace",
      async () => ((await core.readNamespacedServiceAccount({ name: "default", namespace: NS })) ? true : undefined),
      { timeoutMs: 60_000 },
    );
  });

  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    await cluster?.stop();
    // Keep the components' logs of a failed run for whoever investigates; drop the rest.
    if (failed) console.warn(`[cluster tests] logs kept in ${dir}/logs`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const pods = async (selector: string): Promise<k8s.V1Pod[]> => (await core.listNamespacedPod({ namespace: NS, labelSelector: selector })).items;
  const podOn = async (name: string, pred: (p: k8s.V1Pod) => boolean, what: string): Promise<k8s.V1Pod> =>
    waitFor(
      `pod ${name}: ${what}`,
      async () => {
        const p = await core.readNamespacedPod({ name, namespace: NS });
        return pred(p) ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );

  it("registers fake GKE nodes with the pools' labels, GPU taint and nvidia.com/gpu capacity", async () => {
    // As on a real cluster, a new node carries the node controller's not-ready taint until the
    // controller sees it Ready: judge the nodes' own taints once that one is gone.
    const nodes = await waitFor(
      "every node Ready and free of the node controller's condition taints",
      async () => {
        const items = (await core.listNode()).items;
        const settled = items.every((n) => !(n.spec?.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/")));
        return settled ? items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    const byPool = new Map(nodes.map((n) => [n.metadata?.labels?.[NODE_POOL_LABEL], n]));
    const l4 = byPool.get("l4")!;
    expect(l4.metadata?.labels?.[GKE_ACCELERATOR_LABEL]).toBe("nvidia-l4");
    expect(l4.metadata?.labels?.[GPU_LABEL]).toBe("l4");
    expect(l4.spec?.taints).toContainEqual(expect.objectContaining({ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: GPU_TAINT.effect }));
    expect(l4.status?.allocatable?.["nvidia.com/gpu"]).toBe("1");
    expect(byPool.get("a100")!.metadata?.labels?.[GKE_ACCELERATOR_LABEL]).toBe("nvidia-tesla-a100");
    const cpu = byPool.get("cpu")!;
    expect(cpu.spec?.taints ?? []).toEqual([]);
    expect(cpu.status?.allocatable?.["nvidia.com/gpu"]).toBeUndefined();
    for (const n of nodes) expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("schedules by nodeSelector, GPU taint and GPU capacity (the real kube-scheduler)", async () => {
    const gpuPod = (name: string, pool: string, tolerate: boolean, gpus?: number): k8s.V1Pod => ({
      metadata: { name, labels: { test: "placement" } },
      spec: {
        nodeSelector: { [NODE_POOL_LABEL]: pool },
        ...(tolerate ? { tolerations: tolerationsFor([GPU_TAINT]) } : {}),
        containers: [{ name: "w", image: `${IMAGE}:v1`, ...(gpus ? { resources: { limits: { "nvidia.com/gpu": String(gpus) } } } : {}) }],
      },
    });
    await core.createNamespacedPod({ namespace: NS, body: gpuPod("on-a100", "a100", true) });
    await core.createNamespacedPod({ namespace: NS, body: gpuPod("no-toleration", "l4", false) });
    await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: "plain", labels: { test: "placement" } }, spec: { containers: [{ name: "c", image: `${IMAGE}:v1` }] } },
    });
    await core.createNamespacedPod({ namespace: NS, body: gpuPod("gpu-1", "l4", true, 1) });

    expect((await podOn("on-a100", isPodReady, "Ready")).spec?.nodeName).toBe("gke-a100-0");
    // Only the CPU pool is untainted.
    expect((await podOn("plain", isPodReady, "Ready")).spec?.nodeName).toBe("gke-cpu-0");
    expect((await podOn("gpu-1", isPodReady, "Ready")).spec?.nodeName).toBe("gke-l4-0");
    const unschedulable = (p: k8s.V1Pod): boolean =>
      p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable") ?? false;
    const stuck = await podOn("no-toleration", unschedulable, "Unschedulable");
    expect(stuck.spec?.nodeName).toBeUndefined();
    expect(stuck.status?.conditions?.find((c) => c.type === "PodScheduled")?.message).toMatch(/untolerated taint/);

    // The L4 node has one GPU and gpu-1 holds it.
    await core.createNamespacedPod({ namespace: NS, body: gpuPod("gpu-2", "l4", true, 1) });
    const full = await podOn("gpu-2", unschedulable, "Unschedulable");
    expect(full.status?.conditions?.find((c) => c.type === "PodScheduled")?.message).toMatch(/Insufficient nvidia\.com\/gpu/);
  });

  it("turns the image-tag faults into the pod states the engine fails fast on", async () => {
    const cases = { healthy: "v2-slow", crashloop: "v2-crashloop", pullerr: "v2-pullerr-cuda12-default", noready: "v2-noready" } as const;
    for (const [name, tag] of Object.entries(cases)) {
      await core.createNamespacedPod({
        namespace: NS,
        body: { metadata: { name, labels: { test: "faults" } }, spec: { containers: [{ name: "w", image: `${IMAGE}:${tag}` }] } },
      });
    }
    const started = (p: k8s.V1Pod): boolean => (p.status?.containerStatuses?.length ?? 0) > 0;
    expect(isPodReady(await podOn("healthy", isPodReady, "Ready"))).toBe(true);

    const crash = await podOn("crashloop", started, "started");
    expect(crash.status?.phase).toBe("Running");
    expect(crash.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("CrashLoopBackOff");
    expect(checkPod(crash, { now: Date.now(), notReadyAfterMs: 60_000 })?.reason).toBe("CrashLoopBackOff");

    const pull = await podOn("pullerr", started, "started");
    expect(pull.status?.phase).toBe("Pending");
    expect(["ErrImagePull", "ImagePullBackOff"]).toContain(pull.status?.containerStatuses?.[0]?.state?.waiting?.reason);
    expect(checkPod(pull, { now: Date.now(), notReadyAfterMs: 60_000 })?.reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    await podOn("pullerr", (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ImagePullBackOff", "ImagePullBackOff");

    const noready = await podOn("noready", started, "started");
    expect(noready.status?.phase).toBe("Running");
    expect(noready.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
    expect(isPodReady(noready)).toBe(false);
    // Not ready for longer than the grace period counts as failing.
    expect(checkPod(noready, { now: Date.now() + 120_000, notReadyAfterMs: 60_000 })?.reason).toBe("NotReady");

    // A crash-looping container keeps restarting.
    await podOn("crashloop", (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2, "restartCount >= 2");
  });

  it("holds StatefulSet pods below the partition at the old revision (the real StatefulSet controller)", async () => {
    const name = "sie-worker-l4";
    const labels = { app: name };
    const body: k8s.V1StatefulSet = {
      metadata: { name },
      spec: {
        replicas: 3,
        serviceName: name,
        selector: { matchLabels: labels },
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { [NODE_POOL_LABEL]: "l4" },
            tolerations: tolerationsFor([GPU_TAINT]),
            containers: [{ name: "worker", image: `${IMAGE}:v1-cuda12-default` }],
          },
        },
      },
    };
    await apps.createNamespacedStatefulSet({ namespace: NS, body });
    const sts = async (): Promise<k8s.V1StatefulSet> => apps.readNamespacedStatefulSet({ name, namespace: NS });
    const settled = await waitFor(
      "3 ready replicas",
      async () => {
        const s = await sts();
        return s.status?.readyReplicas === 3 && s.status.currentRevision === s.status.updateRevision ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const oldRev = settled.status!.currentRevision!;

    // Hold ordinals 0 and 1; only ordinal 2 may move to the new template.
    await apps.patchNamespacedStatefulSet(
      {
        name,
        namespace: NS,
        body: {
          spec: {
            updateStrategy: { rollingUpdate: { partition: 2 } },
            template: { spec: { containers: [{ name: "worker", image: `${IMAGE}:v2-cuda12-default` }] } },
          },
        },
      },
      MERGE,
    );
    const rolled = await waitFor(
      "ordinal 2 updated and ready",
      async () => {
        const s = await sts();
        return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 && s.status.updateRevision !== oldRev ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const newRev = rolled.status!.updateRevision!;
    // Give the controller time to (wrongly) go further, then look again.
    await new Promise((r) => setTimeout(r, 3_000));
    const revs = Object.fromEntries((await pods(`app=${name}`)).map((p) => [p.metadata!.name!, p.metadata?.labels?.["controller-revision-hash"]]));
    expect(revs).toEqual({ [`${name}-0`]: oldRev, [`${name}-1`]: oldRev, [`${name}-2`]: newRev });
    expect((await sts()).status?.currentRevision).toBe(oldRev);

    // Releasing the partition lets the controller finish the rollout.
    await apps.patchNamespacedStatefulSet({ name, namespace: NS, body: { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } } }, MERGE);
    await waitFor(
      "all ordinals on the new revision",
      async () => {
        const s = await sts();
        return s.status?.currentRevision === newRev && s.status.updatedReplicas === 3 && s.status.readyReplicas === 3 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const p of await pods(`app=${name}`)) expect(p.metadata?.labels?.["controller-revision-hash"]).toBe(newRev);
  });

  it("does not roll a paused Deployment until it is resumed (the real Deployment controller)", async () => {
    const name = "sie-gateway";
    const labels = { app: name };
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "gateway", image: `${IMAGE}:v1` }] } },
        },
      },
    });
    const dep = async (): Promise<k8s.V1Deployment> => apps.readNamespacedDeployment({ name, namespace: NS });
    const replicaSets = async (): Promise<k8s.V1ReplicaSet[]> => (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${name}` })).items;
    await waitFor("2 available replicas", async () => ((await dep()).status?.availableReplicas === 2 ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    expect(await replicaSets()).toHaveLength(1);

    await apps.patchNamespacedDeployment({ name, namespace: NS, body: { spec: { paused: true } } }, MERGE);
    await apps.patchNamespacedDeployment(
      { name, namespace: NS, body: { spec: { template: { spec: { containers: [{ name: "gateway", image: `${IMAGE}:v2` }] } } } } },
      MERGE,
    );
    await waitFor(
      "the controller to notice the pause",
      async () => {
        const d = await dep();
        return d.status?.observedGeneration === d.metadata?.generation &&
          d.status?.conditions?.some((c) => c.type === "Progressing" && c.reason === "DeploymentPaused")
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    await new Promise((r) => setTimeout(r, 3_000));
    const held = await replicaSets();
    expect(held).toHaveLength(1);
    for (const p of await pods(`app=${name}`)) expect(p.spec?.containers[0]?.image).toBe(`${IMAGE}:v1`);

    await apps.patchNamespacedDeployment({ name, namespace: NS, body: { spec: { paused: false } } }, MERGE);
    await waitFor(
      "the rollout to v2",
      async () => {
        const d = await dep();
        const live = (await pods(`app=${name}`)).filter((p) => !p.metadata?.deletionTimestamp);
        return d.status?.updatedReplicas === 2 &&
          d.status.availableReplicas === 2 &&
          live.length === 2 &&
          live.every((p) => p.spec?.containers[0]?.image === `${IMAGE}:v2`)
          ? true
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(await replicaSets()).toHaveLength(2);
  });

  it("serves KEDA's ScaledObject API", async () => {
    const custom = cluster.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const ref = { group: "keda.sh", version: "v1alpha1", plural: "scaledobjects", namespace: NS };
    await custom.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: "sie-worker-l4" },
        spec: {
          scaleTargetRef: { kind: "StatefulSet", name: "sie-worker-l4" },
          minReplicaCount: 1,
          maxReplicaCount: 4,
          triggers: [{ type: "prometheus", metadata: { threshold: "5" } }],
        },
      },
    });
    await custom.patchNamespacedCustomObject(
      { ...ref, name: "sie-worker-l4", body: { metadata: { annotations: { "autoscaling.keda.sh/paused-replicas": "3" } } } },
      MERGE,
    );
    const got = (await custom.getNamespacedCustomObject({ ...ref, name: "sie-worker-l4" })) as {
      metadata: { annotations: Record<string, string> };
      spec: { maxReplicaCount: number };
    };
    expect(got.metadata.annotations["autoscaling.keda.sh/paused-replicas"]).toBe("3");
    expect(got.spec.maxReplicaCount).toBe(4);
  });
});
