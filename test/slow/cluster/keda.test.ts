/**
 * KEDA as a cluster runs it (cluster/clusterKeda.ts): the release's install objects and its real
 * operator and metrics API server, on a control plane with the endpoint server and the cluster's
 * Prometheus. The ScaledObject is the one sie-fleet renders for a stack (infra/release/scaledObjects.ts),
 * on a release of the real chart; load through its gateway raises the queue-depth metric, and the
 * controller-manager's HPA, reading it through the external metrics API, scales the pool up to its
 * max. `autoscaling.keda.sh/paused-replicas` (the upgrade's freeze) pins the pool at that count
 * and drops the HPA; removing it (the thaw) brings the HPA back.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startClusterKeda, EXTERNAL_METRICS_APISERVICE, type ClusterKeda } from "../../../cluster/clusterKeda.js";
import { CLUSTER_PROMETHEUS_SERVICE, startClusterPrometheus, type ClusterPrometheus } from "../../../cluster/clusterPrometheus.js";
import { egressSocketPath, startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { startEndpointServer, type EndpointServer } from "../../../cluster/endpoints/index.js";
import { prometheusUnavailable } from "../../../cluster/prometheus.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKeda, findKubeTools } from "../../../cluster/tools.js";
import { CHART_LABELS } from "../../../core/workloads.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import { quantityValue } from "../../../infra/hardware/quantity.js";
import { chartFullname } from "../../../infra/release/releaseValues.js";
import { buildScaledObjects } from "../../../infra/release/scaledObjects.js";
import { helmMissing, isReady, SieRelease, workerSet } from "./sieRelease.js";

const tools = findKubeTools();
const keda = findKeda();
const skipReason = !tools.ok ? tools.reason : !keda.ok ? keda.reason : (helmMissing() ?? prometheusUnavailable());
if (skipReason) console.warn(`[keda tests] skipped: ${skipReason}`);

const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const NS = "keda-scaling";
const POOL = "cpu";
const MAX = 3;
/** A GPU pool that sits at zero until requests for it arrive. */
const ZERO_POOL = "l4";
const SO = { group: "keda.sh", version: "v1alpha1", plural: "scaledobjects", namespace: NS };
const PAUSED = "autoscaling.keda.sh/paused-replicas";

/**
 * The stack whose ScaledObjects are applied, for the pools the chart release runs: one scaling
 * 1..MAX on a queue of 2 per worker, one at zero until requests for it find no worker.
 */
function stackConfig() {
  return parseConfig({
    "sie-fleet:platform": "local",
    "sie-fleet:pools": {
      [POOL]: { gpu: "cpu", maxNodes: MAX, minReplicas: 1, maxReplicas: MAX },
      [ZERO_POOL]: { gpu: "l4", maxNodes: 1, minReplicas: 0, maxReplicas: 1 },
    },
    "sie-fleet:release": { chart: "./not-read-here", version: "0.3.1", releaseName: "sie", namespace: NS, imageTag: "v0.3.1" },
    "sie-fleet:autoscaling": { enabled: true, pollingInterval: 5, cooldownPeriod: 10, queueDepthThreshold: 2, queueDepthActivation: 0 },
    "sie-fleet:monitoring": { prometheus: { service: CLUSTER_PROMETHEUS_SERVICE } },
  });
}

describe.skipIf(skipReason !== undefined)(`KEDA in the embedded cluster${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let dir: string;
  let cluster: ControlPlane;
  let ep: EndpointServer;
  let prometheus: ClusterPrometheus | undefined;
  let running: ClusterKeda | undefined;
  let kc: k8s.KubeConfig;
  let failed = false;
  const log = (line: string) => console.log(`[keda tests] ${line}`);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-keda-"));
    cluster = await startControlPlane({ dir });
    kc = cluster.kubeConfig();
    // Slow workers keep requests in flight, which is what the queue-depth metric counts.
    ep = await startEndpointServer({
      kubeconfigPath: cluster.kubeconfigPath,
      egressSocket: egressSocketPath(dir),
      kubelet: cluster.kubelet,
      podNetwork: {},
      timings: { encodeLatencyMs: 400, encodeJitterMs: 0 },
      log,
    });
    prometheus = await startClusterPrometheus({ dir, kubeconfigPath: cluster.kubeconfigPath, endpoints: ep, log });
    if (!prometheus) throw new Error("the cluster's Prometheus did not start (see the log above)");
    running = await startClusterKeda({ cluster, endpoints: ep, log });
    if (!running) throw new Error("KEDA did not start (see the log above)");
    await new SieRelease(cluster.kubeconfigPath, {
      namespace: NS,
      gatewayTag: "v0.3.1",
      configTag: "v0.3.1",
      workerTag: "v0.3.1",
      pools: { [POOL]: {}, [ZERO_POOL]: { gpu: true } },
    }).install();
  }, 300_000);

  /** Applies the ScaledObject sie-fleet renders for `pool` of the stack, as `sie-fleet up` would. */
  const applyScaledObject = async (pool: string) => {
    const cfg = stackConfig();
    const so = buildScaledObjects(cfg, chartFullname(cfg)).find((o) => o.metadata.labels[CHART_LABELS.pool] === pool);
    if (!so) throw new Error(`the stack renders no ScaledObject for pool ${pool}`);
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...SO, body: so });
    return so;
  };
  /** The endpoint server's load generator for the release: `{rps, durationMs, pool}` starts it, `{action: "stop"}` stops it. */
  const load = (body: Record<string, unknown>) =>
    fetch(`${ep.url}/control/load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ namespace: NS, ...body }) });

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    await ep?.stop().catch(() => undefined);
    await running?.stop();
    await prometheus?.stop();
    await cluster?.stop();
    if (failed) console.warn(`[keda tests] logs kept in ${dir}/logs`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("installs the release's objects and serves external metrics through the aggregation layer", async () => {
    const reg = kc.makeApiClient(k8s.ApiregistrationV1Api);
    const svc = await reg.readAPIService({ name: EXTERNAL_METRICS_APISERVICE });
    expect(svc.spec?.service).toMatchObject({ namespace: "keda", name: "keda-metrics-apiserver" });
    expect(svc.status?.conditions?.find((c) => c.type === "Available")?.status).toBe("True");
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const images = (await apps.listNamespacedDeployment({ namespace: "keda" })).items.map((d) => d.spec?.template.spec?.containers[0]?.image);
    expect(images.sort()).toEqual([
      `ghcr.io/kedacore/keda-metrics-apiserver:${running!.version.slice(1)}`,
      `ghcr.io/kedacore/keda:${running!.version.slice(1)}`,
    ]);
  });

  it("scales a pool from 1 to its max on queue depth through KEDA and the HPA, and a freeze pins it until the thaw", async () => {
    const so = await applyScaledObject(POOL);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const hpa = kc.makeApiClient(k8s.AutoscalingV2Api);
    const hpaName = `keda-hpa-${so.metadata.name}`;
    const made = await waitFor(
      "KEDA's HPA",
      async () => (await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.find((h) => h.metadata?.name === hpaName),
      { timeoutMs: 60_000, intervalMs: 500, watch: [running!.operator] },
    );
    expect(made.spec).toMatchObject({ minReplicas: 1, maxReplicas: MAX, scaleTargetRef: { kind: "StatefulSet", name: workerSet(POOL) } });

    // ~50 requests a second that each take 400 ms: about 20 in flight, ten times the per-worker target.
    expect((await load({ rps: 50, durationMs: 180_000, pool: POOL })).status).toBe(200);
    try {
      const scaled = await waitFor(
        `the HPA to scale ${workerSet(POOL)} to ${MAX} on the external metric`,
        async () => {
          const h = await hpa.readNamespacedHorizontalPodAutoscaler({ name: hpaName, namespace: NS });
          return (h.status?.desiredReplicas ?? 0) >= MAX ? h : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1_000, watch: [running!.operator, running!.metricsApiServer] },
      );
      // One external metric per trigger (pending demand, queue depth, leases, rejections): the queue's is above its target of 2.
      const perWorker = (scaled.status?.currentMetrics ?? []).map((m) => quantityValue(m.external?.current.averageValue ?? "0") ?? 0);
      expect(perWorker).toHaveLength(4);
      expect(Math.max(...perWorker)).toBeGreaterThan(2);
      await waitFor(
        `${MAX} Ready workers`,
        async () => {
          const pods = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: `sie.superlinked.com/pool=${POOL}` })).items;
          return pods.filter(isReady).length >= MAX ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );

      // The freeze: KEDA pins the target at the annotated count and removes its HPA.
      await custom.patchNamespacedCustomObject({ ...SO, name: so.metadata.name, body: { metadata: { annotations: { [PAUSED]: String(MAX) } } } }, MERGE);
      await waitFor(
        "the HPA to be removed while paused",
        async () => ((await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.length === 0 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect((await apps.readNamespacedStatefulSet({ name: workerSet(POOL), namespace: NS })).spec?.replicas).toBe(MAX);
    } finally {
      await load({ action: "stop" });
    }

    // The thaw: scaling is live again.
    await custom.patchNamespacedCustomObject({ ...SO, name: so.metadata.name, body: { metadata: { annotations: { [PAUSED]: null } } } }, MERGE);
    await waitFor(
      "the HPA back after the thaw",
      async () => (await hpa.listNamespacedHorizontalPodAutoscaler({ namespace: NS })).items.find((h) => h.metadata?.name === hpaName),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it("scales a pool at zero to one worker when requests find none, and back to zero once they stop", async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const replicas = async () => (await apps.readNamespacedStatefulSet({ name: workerSet(ZERO_POOL), namespace: NS })).spec?.replicas;
    const readyWorkers = async () =>
      (await core.listNamespacedPod({ namespace: NS, labelSelector: `${CHART_LABELS.pool}=${ZERO_POOL}` })).items.filter(isReady).length;
    const watch = { timeoutMs: 90_000, intervalMs: 1_000, watch: [running!.operator, running!.metricsApiServer] };
    await applyScaledObject(ZERO_POOL);
    // No demand: KEDA takes the pool (the chart started one worker) to its minimum, zero.
    await waitFor("KEDA to scale the idle pool to zero", async () => ((await replicas()) === 0 && (await readyWorkers()) === 0 ? true : undefined), watch);

    // Requests pinned to the pool find no worker: 202 and pending demand, which activates the pool.
    expect((await load({ rps: 5, durationMs: 60_000, pool: ZERO_POOL })).status).toBe(200);
    try {
      await waitFor("KEDA to start a worker for the demand", async () => ((await readyWorkers()) === 1 ? true : undefined), watch);
    } finally {
      await load({ action: "stop" });
    }
    // The demand window (15 s) passes, then the cooldown (10 s): back to zero.
    await waitFor("the pool back at zero after the cooldown", async () => ((await replicas()) === 0 ? true : undefined), watch);
  });
});
