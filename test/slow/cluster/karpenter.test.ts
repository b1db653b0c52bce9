/**
 * Karpenter's kwok provider as the embedded cluster's node autoscaler (cluster/karpenter/): the
 * NodePools the EKS example stack gets, on a control plane that starts with only that stack's
 * managed node groups. Workers placed as the chart places them (workerPlacement) that find no room
 * get a node from Karpenter after the node class's registration delay, with the pool's labels,
 * taints and instance type; once they are gone the empty node is removed. A pool can start at zero
 * nodes. Skips (with the reason) unless `scripts/ensure-kube-tools --karpenter` has built it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { startClusterKarpenter, type ClusterKarpenter } from "../../../cluster/karpenter/clusterKarpenter.js";
import { kwokInstanceTypes } from "../../../cluster/karpenter/instanceTypes.js";
import { kwokNodePools } from "../../../cluster/karpenter/nodePools.js";
import { cloudNodes, cloudZones, KWOK_NODE_LABEL } from "../../../cluster/nodes.js";
import { waitFor } from "../../../cluster/procs.js";
import { findKarpenter, findKubeTools } from "../../../cluster/tools.js";
import { REPO_ROOT } from "../../../core/paths.js";
import type { EksFleetConfig, GkeFleetConfig, ResolvedPool } from "../../../infra/config/configTypes.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import { GPU_RESOURCE } from "../../../infra/hardware/gpuProfiles.js";
import { workerPlacement } from "../../../infra/hardware/workerPlacement.js";
import { nodePoolName } from "../../../infra/platforms/karpenterNodePools.js";

const tools = findKubeTools();
const karpenter = findKarpenter();
const skipReason = !tools.ok ? tools.reason : !karpenter.ok ? karpenter.reason : undefined;
if (skipReason) console.warn(`[karpenter tests] skipped: ${skipReason}`);

const NS = "workers";
const DELAY_S = 4;
const KARPENTER_OPTS = { consolidateAfter: "5s", registrationDelay: `${DELAY_S}s` };

function stackConfig(file: string): GkeFleetConfig | EksFleetConfig {
  const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", file), "utf8")) as { config: Record<string, unknown> };
  const cfg = parseConfig(doc.config);
  if (cfg.platform !== "gke" && cfg.platform !== "eks") throw new Error(`${file} is not a gke or eks stack`);
  return cfg;
}

/** Pods like a pool's SIE workers as far as scheduling goes: the chart's placement and one GPU each. */
function workers(pool: ResolvedPool, replicas: number): k8s.V1StatefulSet {
  const placement = workerPlacement(pool);
  const labels = { app: `worker-${pool.name}` };
  return {
    metadata: { name: `worker-${pool.name}`, namespace: NS },
    spec: {
      replicas,
      serviceName: `worker-${pool.name}`,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: placement.nodeSelector,
          tolerations: placement.tolerations as k8s.V1Toleration[],
          containers: [
            {
              name: "worker",
              image: "ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default",
              resources: { requests: { cpu: "1", memory: "4Gi", [GPU_RESOURCE]: "1" }, limits: { [GPU_RESOURCE]: "1" } },
            },
          ],
        },
      },
    },
  };
}

describe.skipIf(skipReason !== undefined)(`Karpenter in the embedded cluster${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const cfg = stackConfig("Pulumi.eks-prod.yaml");
  let dir: string;
  let cluster: ControlPlane;
  let running: ClusterKarpenter | undefined;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let failed = false;
  const log = (line: string) => console.log(`[karpenter tests] ${line}`);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-karpenter-"));
    // The stack's managed node groups only: the system nodes and the l4 pool's one warm node.
    cluster = await startControlPlane({ dir, nodes: cloudNodes(cfg, { karpenter: true }), kedaCrds: false });
    const kc = cluster.kubeConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    const { nodeClasses, nodePools } = kwokNodePools(cfg, KARPENTER_OPTS);
    running = await startClusterKarpenter({
      cluster,
      spec: {
        instanceTypes: kwokInstanceTypes("eks", { region: cfg.cluster.region, zones: cloudZones(cfg) }),
        nodeClasses,
        nodePools,
      },
      log,
    });
    if (!running) throw new Error("Karpenter did not start (see the log above)");
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor(
      "the default ServiceAccount in the test namespace",
      async () => ((await core.readNamespacedServiceAccount({ name: "default", namespace: NS })) ? true : undefined),
      { timeoutMs: 60_000 },
    );
  }, 180_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    await running?.stop();
    await cluster?.stop();
    if (failed) console.warn(`[karpenter tests] logs kept in ${dir}/logs`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const poolNodes = async (pool: string) =>
    (await core.listNode({ labelSelector: `karpenter.sh/nodepool=${nodePoolName(pool)}` })).items.filter((n) => !n.metadata?.deletionTimestamp);
  const runningPods = async (pool: string) =>
    (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=worker-${pool}` })).items.filter((p) => p.status?.phase === "Running");
  const watch = () => ({ intervalMs: 500, watch: [running!.proc] });

  it("accepts every NodePool and KWOKNodeClass rendered for the gke and eks stacks (server-side dry run)", async () => {
    const api = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    for (const file of fs.readdirSync(path.join(REPO_ROOT, "stacks")).filter((f) => /^Pulumi\.(gke|eks)-.*\.yaml$/.test(f))) {
      const { nodeClasses, nodePools } = kwokNodePools(stackConfig(file), KARPENTER_OPTS);
      for (const obj of [...nodeClasses, ...nodePools]) {
        const renamed = { ...obj, metadata: { ...obj.metadata, name: `dry-run-${obj.metadata.name}` } };
        await expect(api.create(renamed, undefined, "All"), `${file}: ${obj.kind} ${obj.metadata.name}`).resolves.toBeDefined();
      }
    }
  });

  it("adds a node when a pool's workers outgrow its node group, and removes it once empty", async () => {
    const pool = cfg.pools["l4"]!;
    const started = Date.now();
    await apps.createNamespacedStatefulSet({ namespace: NS, body: workers(pool, 2) });
    // The node group's one node takes the first worker; the second waits for Karpenter's node.
    await waitFor("a node from Karpenter for the second l4 worker", async () => ((await poolNodes("l4")).length === 1 ? true : undefined), {
      timeoutMs: 60_000,
      ...watch(),
    });
    await waitFor("both l4 workers Running", async () => ((await runningPods("l4")).length === 2 ? true : undefined), { timeoutMs: 60_000, ...watch() });
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_S * 1000);
    // Karpenter marks it initialized once it is Ready with its GPUs advertised.
    const node = await waitFor(
      "Karpenter's node initialized",
      async () => (await poolNodes("l4")).find((n) => n.metadata?.labels?.["karpenter.sh/initialized"] === "true"),
      { timeoutMs: 30_000, ...watch() },
    );
    expect(node!.metadata?.labels).toMatchObject({
      ...pool.nodeLabels,
      [KWOK_NODE_LABEL]: "fake",
      "node.kubernetes.io/instance-type": pool.hardware.instanceType,
      "karpenter.sh/capacity-type": "on-demand",
      "karpenter.sh/registered": "true",
      "karpenter.sh/initialized": "true",
    });
    expect(node!.spec?.taints?.map((t) => `${t.key}=${t.value}:${t.effect}`)).toEqual(pool.nodeTaints.map((t) => `${t.key}=${t.value}:${t.effect}`));
    expect(node!.status?.allocatable?.[GPU_RESOURCE]).toBe(String(pool.hardware.gpusPerNode));

    await apps.patchNamespacedStatefulSet(
      { namespace: NS, name: `worker-${pool.name}`, body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    // The worker that goes is the one on Karpenter's node (the highest ordinal, started last).
    await waitFor("the empty node removed", async () => ((await poolNodes("l4")).length === 0 ? true : undefined), { timeoutMs: 90_000, ...watch() });
    expect((await core.listNode({ labelSelector: `eks.amazonaws.com/nodegroup=l4` })).items).toHaveLength(1);
    expect(await runningPods("l4")).toHaveLength(1);
  });

  it("brings a pool at zero nodes its first node for a worker, and takes it back to zero", async () => {
    const pool = cfg.pools["a100-80gb"]!;
    expect(pool.minNodes).toBe(0);
    expect(await poolNodes(pool.name)).toHaveLength(0);
    await apps.createNamespacedStatefulSet({ namespace: NS, body: workers(pool, 1) });
    const [node] = await waitFor("the pool's first node", async () => ((await poolNodes(pool.name)).length === 1 ? poolNodes(pool.name) : undefined), {
      timeoutMs: 60_000,
      ...watch(),
    });
    expect(node!.metadata?.labels).toMatchObject({ "karpenter.sh/capacity-type": "spot", "node.kubernetes.io/instance-type": pool.hardware.instanceType });
    await waitFor("the worker Running", async () => ((await runningPods(pool.name)).length === 1 ? true : undefined), { timeoutMs: 60_000, ...watch() });
    await apps.deleteNamespacedStatefulSet({ namespace: NS, name: `worker-${pool.name}` });
    await waitFor("the pool back at zero nodes", async () => ((await poolNodes(pool.name)).length === 0 ? true : undefined), { timeoutMs: 90_000, ...watch() });
  });
});
