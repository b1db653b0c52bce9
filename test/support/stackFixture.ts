/**
 * A stack of the real sie-fleet project on the lane's embedded cluster (laneCluster.ts): a scratch
 * copy of the project whose `local` stack file is the repository's with its own namespace, its own
 * file backend and state dir, the real Pulumi CLI and the real Helm release. Tests run in parallel
 * on one cluster, one namespace each; cleanup deletes the namespace so its workers free their GPUs.
 *
 *   const fixture = useStackFixture();           // beforeAll: deploy; afterAll: clean up
 *   it("…", async () => { const fx = fixture(); await upgrade({ stack: fx.stack, to }, fx.ctx); });
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { kubeFetch, serviceProxyUrl } from "../../automation/kube/apiProxy.js";
import { sieService } from "../../core/workloads.js";
import { DEFAULT_CHECKS } from "../../automation/verify/checks.js";
import type { VerifyCheckName } from "../../automation/verify/types.js";
import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll } from "vitest";
import { PROJECT_DIR_ENV } from "../../automation/actions/target.js";
import { upStack } from "../../automation/engine/operations.js";
import { REPO_ROOT } from "../../core/paths.js";
import { makeScratchProject } from "../../automation/engine/scratchProject.js";
import { openStack, type OpenStack } from "../../automation/engine/stack.js";
import type { ActionContext, ProgressEvent } from "../../core/types.js";
import { readClusterInfo, type ClusterInfo } from "../../cluster/daemonState.js";
import { CHART_BASE_ENV } from "../../infra/release/chartSource.js";
import { CLUSTER_DIR_ENV } from "../../infra/platforms/embeddedCluster.js";
import { testClusterDir, TEST_NAMESPACE_PREFIX } from "./laneCluster.js";
import { withoutClusterPrometheus, type StackConfigMap } from "./testStackConfig.js";

export type { StackConfigMap };

/** Per upgrade/rollback/recover call: real controllers and the Pulumi engine on 2 busy cores. */
export const SCENARIO_TIMEOUT_MS = 10 * 60_000;
/** A first deploy, including (on a cold machine) waiting for the lane's tool builds. */
export const DEPLOY_TIMEOUT_MS = 20 * 60_000;

export interface StackFixtureOptions {
  /** Stack name (default "local", whose passphrase is built in). */
  stack?: string;
  /** Edits the repository's stacks/Pulumi.local.yaml config before it is written (the namespace is set after). */
  config?: (c: StackConfigMap) => void;
  /** `pulumi up` and wait until every workload is rolled out (default true). */
  deploy?: boolean;
  /** Extra environment for every action (e.g. SIE_FLEET_PROMETHEUS_URL). */
  env?: NodeJS.ProcessEnv;
  /**
   * Keep the local stack's `sie-fleet:monitoring`: the metric gates then query the lane cluster's
   * own Prometheus through the API server (and wait out their windows). Default false.
   */
  monitoring?: boolean;
}

export interface StackFixture {
  stack: string;
  namespace: string;
  fullname: string;
  dir: string;
  stateDir: string;
  configFile: string;
  /** Whether the stack keeps the local stack's monitoring (StackFixtureOptions.monitoring). */
  monitoring: boolean;
  ctx: ActionContext;
  events: ProgressEvent[];
  cluster: ClusterInfo;
  /** The lane cluster's admin kubeconfig, for clients the fields below do not cover. */
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  /** The endpoint server's base URL and this release's gateway and config URLs. */
  endpoints: { url: string; gateway: string; config: string };
  open(create?: boolean): Promise<OpenStack>;
  /** Rewrites the stack file from the repository's local stack with `edit` applied. */
  writeConfig(edit?: (c: StackConfigMap) => void): void;
  cleanup(): Promise<void>;
}

function repoLocalConfig(): StackConfigMap {
  return (yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as { config: StackConfigMap }).config;
}

/** The repository's local stack's check lists, the defaults where it names none. */
function repoLocalChecks(): Record<"wave" | "final", VerifyCheckName[]> {
  const checks = repoLocalConfig()["sie-fleet:rollout"]?.gates?.checks ?? {};
  return { wave: [...(checks.wave ?? DEFAULT_CHECKS.wave)], final: [...(checks.final ?? DEFAULT_CHECKS.final)] };
}

const PROMETHEUS_CHECKS: readonly VerifyCheckName[] = ["prometheus", "metric-gates"];

/**
 * Puts the local stack's Prometheus checks back into a fixture's config, for a test that starts
 * its own Prometheus (fixturePrometheus) and gives it to the stack (SIE_FLEET_PROMETHEUS_URL).
 */
export function withPrometheusChecks(c: StackConfigMap): void {
  c["sie-fleet:rollout"].gates.checks = repoLocalChecks();
}

/**
 * The repository's local stack config with this fixture's namespace and `edit` applied, as YAML.
 * Unless `monitoring`, without the cluster's Prometheus (withoutClusterPrometheus: the metric gates'
 * windows would lengthen every test's upgrade), so the stack's verification policy (explicit wave
 * and final lists) leaves the Prometheus checks out; withPrometheusChecks puts them back for a test
 * that starts its own Prometheus.
 */
export function localStackYaml(namespace: string, edit?: (c: StackConfigMap) => void, monitoring = false): string {
  const doc = { config: repoLocalConfig() };
  if (!monitoring) {
    withoutClusterPrometheus(doc.config);
    const local = repoLocalChecks();
    const noProm = (list: VerifyCheckName[]) => list.filter((x) => !PROMETHEUS_CHECKS.includes(x));
    doc.config["sie-fleet:rollout"].gates.checks = { wave: noProm(local.wave), final: noProm(local.final) };
  }
  edit?.(doc.config);
  doc.config["sie-fleet:release"] = { ...doc.config["sie-fleet:release"], namespace };
  return yaml.dump(doc, { lineWidth: -1 });
}

export async function stackFixture(opts: StackFixtureOptions = {}): Promise<StackFixture> {
  const clusterDir = testClusterDir();
  const cluster = readClusterInfo(clusterDir);
  if (!cluster) throw new Error(`no test cluster in ${clusterDir}: run the tests through vitest (test/support/laneCluster.ts is its globalSetup)`);
  const stack = opts.stack ?? "local";
  const namespace = `${TEST_NAMESPACE_PREFIX}${randomBytes(3).toString("hex")}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    [CLUSTER_DIR_ENV]: clusterDir,
    // The chart copies live beside the repository, not beside the scratch project.
    [CHART_BASE_ENV]: REPO_ROOT,
  };
  for (const k of [
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_HOME",
    "KUBECONFIG",
    "SIE_FLEET_GATEWAY_URL",
    "SIE_FLEET_CONFIG_URL",
    "SIE_FLEET_PROMETHEUS_URL",
  ])
    if (!opts.env?.[k]) delete env[k];
  const monitoring = opts.monitoring ?? false;
  const fx = checkout({ stack, namespace, cluster, env, monitoring, stackYaml: localStackYaml(namespace, opts.config, monitoring) });
  return {
    ...fx,
    async cleanup() {
      // The namespace takes the release, its pods (and so their GPUs) and the ScaledObjects with it.
      await fx.core.deleteNamespace({ name: namespace }).catch(() => undefined);
      await fx.cleanup();
    },
  };
}

/**
 * Another working directory of the same stack, as a second machine has it: its own copy of the
 * project (with `fx`'s stack file as it is now) and its own state dir, sharing only what machines
 * share: the backend (give the first fixture a PULUMI_BACKEND_URL outside its state dir), the
 * passphrase and the cluster. Its cleanup removes the directory only.
 */
export function secondCheckout(fx: StackFixture): StackFixture {
  return checkout({
    stack: fx.stack,
    namespace: fx.namespace,
    cluster: fx.cluster,
    env: fx.ctx.env ?? process.env,
    monitoring: fx.monitoring,
    stackYaml: fs.readFileSync(fx.configFile, "utf8"),
  });
}

function checkout(o: { stack: string; namespace: string; cluster: ClusterInfo; env: NodeJS.ProcessEnv; monitoring: boolean; stackYaml: string }): StackFixture {
  const { stack, namespace, cluster } = o;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-fleet-stack-"));
  const configFile = path.join(dir, "stacks", `Pulumi.${stack}.yaml`);
  makeScratchProject(dir, { stacks: [], stackFiles: { [stack]: o.stackYaml } });
  const stateDir = path.join(dir, ".sie-fleet");
  const env: NodeJS.ProcessEnv = { ...o.env, [PROJECT_DIR_ENV]: dir };
  const events: ProgressEvent[] = [];
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const base = `${cluster.endpointsUrl ?? ""}/namespaces/${namespace}`;
  return {
    stack,
    namespace,
    fullname: "sie-sie-cluster",
    dir,
    stateDir,
    configFile,
    monitoring: o.monitoring,
    ctx: { stateDir, reporter: { emit: (e) => events.push(e) }, secrets: [], yes: true, nonInteractive: true, verbose: false, env, cwd: dir },
    events,
    cluster,
    kubeConfig: kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    endpoints: { url: cluster.endpointsUrl ?? "", gateway: `${base}/gateway`, config: `${base}/config` },
    open: (create = false) => openStack({ stack, projectDir: dir, stateDir, env }, { create }),
    writeConfig: (edit) => fs.writeFileSync(configFile, localStackYaml(namespace, edit, o.monitoring)),
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** beforeAll/afterAll for a test file: a fixture, deployed unless `deploy: false`. A failed file keeps its project for whoever looks. */
export function useStackFixture(opts: StackFixtureOptions = {}): () => StackFixture {
  let fx: StackFixture | undefined;
  let failed = false;
  beforeAll(async () => {
    fx = await stackFixture(opts);
    if (opts.deploy !== false) {
      await upStack(await fx.open(true));
      await waitReleaseReady(fx);
    }
  }, DEPLOY_TIMEOUT_MS);
  afterEach((c) => {
    if (c.task.result?.state === "fail") failed = true;
  });
  afterAll(async () => {
    if (!fx) return;
    if (failed) {
      console.warn(`[stack fixture] kept ${fx.dir} (namespace ${fx.namespace} deleted)`);
      await fx.core.deleteNamespace({ name: fx.namespace }).catch(() => undefined);
    } else await fx.cleanup();
  }, 120_000);
  return () => {
    if (!fx) throw new Error("stack fixture not ready: beforeAll failed");
    return fx;
  };
}

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/** Polls `check` until it returns a value other than undefined. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let last = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 300));
  }
}

/** Every StatefulSet and Deployment of the release has all its replicas Ready on its current revision. */
export async function waitReleaseReady(fx: StackFixture, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    "the release's workloads to be rolled out and Ready",
    async () => {
      const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items;
      const deps = (await fx.apps.listNamespacedDeployment({ namespace: fx.namespace })).items;
      if (sts.length === 0 || deps.length === 0) return undefined;
      const stsDone = sts.every(
        (s) =>
          (s.status?.readyReplicas ?? 0) === (s.spec?.replicas ?? 0) &&
          s.status?.updateRevision === s.status?.currentRevision &&
          (s.status?.updatedReplicas ?? 0) === (s.spec?.replicas ?? 0),
      );
      const depDone = deps.every(
        (d) =>
          (d.status?.readyReplicas ?? 0) === (d.spec?.replicas ?? 0) &&
          (d.status?.updatedReplicas ?? 0) === (d.spec?.replicas ?? 0) &&
          (d.status?.replicas ?? 0) === (d.spec?.replicas ?? 0),
      );
      return stsDone && depDone ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** `<object>=<image>` for every StatefulSet and Deployment of the release, sorted. */
export async function workloadImages(fx: StackFixture): Promise<string[]> {
  const sts = (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items;
  const deps = (await fx.apps.listNamespacedDeployment({ namespace: fx.namespace })).items;
  return [...sts, ...deps].map((o) => `${o.metadata?.name}=${o.spec?.template.spec?.containers[0]?.image}`).sort();
}

/** Images of the Ready worker pods of one pool. */
export async function readyWorkerImages(fx: StackFixture, pool: string): Promise<string[]> {
  const pods = (
    await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `app.kubernetes.io/component=worker,sie.superlinked.com/pool=${pool}` })
  ).items;
  return pods
    .filter(isReady)
    .map((p) => p.spec?.containers[0]?.image ?? "")
    .sort();
}

/** `autoscaling.keda.sh/paused-replicas` of every ScaledObject of the release (undefined = thawed). */
export async function pausedAnnotations(fx: StackFixture): Promise<Record<string, string | undefined>> {
  const list = (await fx.custom.listNamespacedCustomObject({ group: "keda.sh", version: "v1alpha1", namespace: fx.namespace, plural: "scaledobjects" })) as {
    items: { metadata: { name: string; annotations?: Record<string, string> } }[];
  };
  return Object.fromEntries(list.items.map((so) => [so.metadata.name, so.metadata.annotations?.["autoscaling.keda.sh/paused-replicas"]]));
}

/** GET on this release's gateway Service through the API server, as the engine and kubectl reach it. */
export async function gatewayGet(fx: StackFixture, p: string): Promise<{ status: number; version: string | null; body: any }> {
  const server = fx.kubeConfig.getCurrentCluster()!.server;
  const url = serviceProxyUrl(server, sieService({ namespace: fx.namespace, fullname: fx.fullname }, "gateway"));
  const r = await kubeFetch(fx.kubeConfig)(`${url}${p}`);
  return { status: r.status, version: r.headers.get("x-sie-server-version"), body: await r.json().catch(() => undefined) };
}

/** POST to the endpoint server's control API (load, faults, start delays) for this release's namespace. */
export async function control(
  fx: StackFixture,
  what: "load" | "faults" | "starts" | "pulls",
  body: Record<string, unknown>,
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${fx.endpoints.url}/control/${what}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ namespace: fx.namespace, ...body }),
  });
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

/** What is left of an upgrade's holds: StatefulSet partitions, paused Deployments, frozen ScaledObjects (empty when none). */
export async function holdsLeft(fx: StackFixture): Promise<string[]> {
  const left: string[] = [];
  for (const s of (await fx.apps.listNamespacedStatefulSet({ namespace: fx.namespace })).items) {
    const partition = s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (partition !== 0) left.push(`StatefulSet/${s.metadata?.name} partition ${partition}`);
  }
  for (const d of (await fx.apps.listNamespacedDeployment({ namespace: fx.namespace })).items)
    if (d.spec?.paused) left.push(`Deployment/${d.metadata?.name} paused`);
  for (const [so, v] of Object.entries(await pausedAnnotations(fx))) if (v !== undefined) left.push(`ScaledObject/${so} paused at ${v}`);
  return left;
}
