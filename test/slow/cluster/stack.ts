/**
 * A `kubernetes`-platform stack on the test control plane: a scratch project whose stack file
 * points at the cluster's kubeconfig and the real chart, its own file backend, and the SIE endpoint
 * server (cluster/endpoints) answering the release's gateway and config as its Ready pods would.
 * One per test file (beforeAll), like the cluster itself.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll } from "vitest";
import { CHART_BASE_ENV } from "../../../infra/chartSource.js";
import { PROJECT_DIR_ENV } from "../../../automation/actions/target.js";
import { REPO_ROOT } from "../../../automation/engine/paths.js";
import { upStack } from "../../../automation/engine/operations.js";
import { ensurePulumi } from "../../../automation/engine/pulumiCli.js";
import { makeScratchProject } from "../../../automation/engine/scratchProject.js";
import { openStack, type OpenStack } from "../../../automation/engine/stack.js";
import type { ActionContext, ProgressEvent } from "../../../automation/types.js";
import { startEndpointServer, type EndpointServer } from "../../../cluster/endpoints/index.js";
import { startControlPlane, type ControlPlane } from "../../../cluster/controlPlane.js";
import { waitFor } from "../../../cluster/procs.js";

export const STACK = "kube";
export const NS = "sie";
export const FULLNAME = "sie-sie-cluster";
/** Per upgrade/rollback/recover call: real controllers and the Pulumi engine on 2 busy cores. */
export const SCENARIO_TIMEOUT_MS = 10 * 60_000;
/** Only used here; the secrets of this throwaway stack are nothing but its passphrase. */
const PASSPHRASE = "sie-fleet-cluster-test";

export interface PoolSpec {
  gpu: string;
  nodeSelector: Record<string, string>;
  minReplicas?: number;
  maxReplicas?: number;
}

/** The GKE shape of the fleet: workers select their nodes by GKE's accelerator label. */
export const GKE_POOLS: Record<string, PoolSpec> = {
  l4: { gpu: "l4", nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-l4" }, minReplicas: 1, maxReplicas: 2 },
  a100: { gpu: "a100-40gb", nodeSelector: { "cloud.google.com/gke-accelerator": "nvidia-tesla-a100" }, minReplicas: 1, maxReplicas: 1 },
};

/** The real sie-cluster chart, one directory per version beside the repository (SIE_FLEET_CHART_BASE=repo). */
export const LOCAL_CHART = "../shared/charts/sie-cluster-{version}";

/**
 * Chart values a cluster without registry access needs: the NATS sub-chart is not in the local
 * chart copies, and the chart refuses queue routing without NATS, so it points at an address
 * nothing answers (no pod runs code here anyway).
 */
export const OFFLINE_VALUES = ["      nats:", "        install: false", "        url: nats://nats.invalid:4222"].join("\n");

export function stackFile(kubeconfigPath: string, pools: Record<string, PoolSpec> = GKE_POOLS, canaryPool = "l4"): string {
  const poolYaml = Object.entries(pools)
    .map(([name, p]) =>
      [
        `    ${name}:`,
        `      gpu: ${p.gpu}`,
        `      minReplicas: ${p.minReplicas ?? 1}`,
        `      maxReplicas: ${p.maxReplicas ?? 1}`,
        `      nodeSelector:`,
        ...Object.entries(p.nodeSelector).map(([k, v]) => `        ${k}: ${v}`),
      ].join("\n"),
    )
    .join("\n");
  // KEDA's operator does not run in this lane (the ScaledObjects exist, nobody reconciles them),
  // so the keda check, and without Prometheus the metric gates, are left out of verification.
  const checks = "[rollout, images, gateway-readyz, gateway-health, gateway-models, encode-smoke]";
  return `config:
  sie-fleet:platform: kubernetes
  sie-fleet:cluster:
    kubeconfig: ${kubeconfigPath}
  sie-fleet:pools:
${poolYaml}
  sie-fleet:release:
    chart: ${LOCAL_CHART}
    version: 0.3.1
    releaseName: sie
    namespace: ${NS}
    imageTag: v0.3.1
    values:
${OFFLINE_VALUES}
  sie-fleet:autoscaling:
    enabled: true
    prometheusAddress: http://127.0.0.1:9
  sie-fleet:rollout:
    canaryPool: ${canaryPool}
    timeouts:
      applySeconds: 60
    gates:
      retries: 3
      backoffSeconds: 1
      checks:
        wave: ${checks}
        final: ${checks.replace("]", ", config-healthz]")}
`;
}

export interface ClusterStack {
  cluster: ControlPlane;
  dir: string;
  stateDir: string;
  configFile: string;
  ctx: ActionContext;
  events: ProgressEvent[];
  endpoints: EndpointServer;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  open(create?: boolean): Promise<OpenStack>;
}

export interface ClusterStackOptions {
  pools?: Record<string, PoolSpec>;
  /** Run `pulumi up` in beforeAll (default true) and wait for every pod of the release to be Ready. */
  deploy?: boolean;
}

/** Registers beforeAll/afterAll: cluster, scratch project, endpoint server, deployed stack. */
export function useClusterStack(opts: ClusterStackOptions = {}): () => ClusterStack {
  let fx: ClusterStack | undefined;
  let root: string | undefined;
  let failed = false;
  beforeAll(async () => {
    await ensurePulumi({ onProgress: (l) => process.stderr.write(`${l}\n`) });
    root = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-kstack-"));
    const cluster = await startControlPlane({ dir: path.join(root, "cluster") });
    const dir = path.join(root, "project");
    makeScratchProject(dir, { stacks: [], stackFiles: { [STACK]: stackFile(cluster.kubeconfigPath, opts.pools) } });
    const stateDir = path.join(dir, ".sie-fleet");
    const endpoints = await startEndpointServer({ kubeconfigPath: cluster.kubeconfigPath });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [PROJECT_DIR_ENV]: dir,
      SIE_FLEET_GATEWAY_URL: endpoints.gatewayUrl(NS),
      SIE_FLEET_CONFIG_URL: endpoints.configUrl(NS),
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      [CHART_BASE_ENV]: REPO_ROOT,
    };
    delete env.PULUMI_BACKEND_URL;
    delete env.PULUMI_HOME;
    delete env.KUBECONFIG;
    delete env.SIE_FLEET_SIM_DIR;
    const events: ProgressEvent[] = [];
    const kc = cluster.kubeConfig();
    fx = {
      cluster,
      dir,
      stateDir,
      configFile: path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
      ctx: { stateDir, reporter: { emit: (e) => events.push(e) }, secrets: [PASSPHRASE], yes: true, nonInteractive: true, verbose: false, env, cwd: dir },
      events,
      endpoints,
      core: kc.makeApiClient(k8s.CoreV1Api),
      apps: kc.makeApiClient(k8s.AppsV1Api),
      custom: kc.makeApiClient(k8s.CustomObjectsApi),
      open: (create = false) => openStack({ stack: STACK, projectDir: dir, stateDir, env }, { create }),
    };
    if (opts.deploy !== false) {
      await upStack(await fx.open(true));
      await waitReleaseReady(fx);
    }
  }, 20 * 60_000);
  afterEach((c) => {
    if (c.task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    await fx?.endpoints.stop();
    await fx?.cluster.stop();
    if (!root) return;
    // A failed run keeps the components' logs and the project (journals) for whoever investigates.
    if (failed) console.warn(`[cluster tests] kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);
  return () => {
    if (!fx) throw new Error("cluster stack not ready: beforeAll failed");
    return fx;
  };
}

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/** Every StatefulSet and Deployment of the release has all its replicas Ready on its current revision. */
export async function waitReleaseReady(fx: ClusterStack, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    "the release's workloads to be rolled out and Ready",
    async () => {
      const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: NS })).items;
      const deps = (await fx.apps.listNamespacedDeployment({ namespace: NS })).items;
      if (sts.length === 0 || deps.length === 0) return undefined;
      const stsDone = sts.every((s) => (s.status?.readyReplicas ?? 0) === (s.spec?.replicas ?? 0) && s.status?.updateRevision === s.status?.currentRevision && (s.status?.updatedReplicas ?? 0) === (s.spec?.replicas ?? 0));
      const depDone = deps.every((d) => (d.status?.readyReplicas ?? 0) === (d.spec?.replicas ?? 0) && (d.status?.updatedReplicas ?? 0) === (d.spec?.replicas ?? 0) && (d.status?.replicas ?? 0) === (d.spec?.replicas ?? 0));
      return stsDone && depDone ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** `<object>=<image>` for every StatefulSet and Deployment of the release, sorted. */
export async function workloadImages(fx: ClusterStack): Promise<string[]> {
  const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: NS })).items;
  const deps = (await fx.apps.listNamespacedDeployment({ namespace: NS })).items;
  return [...sts, ...deps].map((o) => `${o.metadata?.name}=${o.spec?.template.spec?.containers[0]?.image}`).sort();
}

/** Images of the Ready pods of one pool's StatefulSet. */
export async function readyPodImages(fx: ClusterStack, selector: string): Promise<string[]> {
  const pods = (await fx.core.listNamespacedPod({ namespace: NS, labelSelector: selector })).items;
  return pods.filter(isReady).map((p) => p.spec?.containers[0]?.image ?? "").sort();
}

/** `autoscaling.keda.sh/paused-replicas` of every ScaledObject of the release (undefined = thawed). */
export async function pausedAnnotations(fx: ClusterStack): Promise<Record<string, string | undefined>> {
  const list = (await fx.custom.listNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: NS, plural: "scaledobjects" })) as { items: { metadata: { name: string; annotations?: Record<string, string> } }[] };
  return Object.fromEntries(list.items.map((so) => [so.metadata.name, so.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]]));
}

/** GET on the release's gateway, as the endpoint server answers it. */
export async function gatewayGet(fx: ClusterStack, p: string): Promise<{ status: number; version: string | null; body: unknown }> {
  const r = await fetch(`${fx.endpoints.gatewayUrl(NS)}${p}`);
  return { status: r.status, version: r.headers.get("x-sie-server-version"), body: await r.json().catch(() => undefined) };
}
