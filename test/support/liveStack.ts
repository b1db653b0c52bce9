/**
 * A stack of the real project on a cluster of its own with live autoscaling (KEDA, and Karpenter
 * when asked), for the cluster lane: the engine lanes' shared cluster runs neither. The stack's
 * Prometheus is the cluster's, so KEDA's triggers and the metric gates query it, and steady load
 * through the gateway gives the gates requests to judge.
 *
 *   const live = useLiveStack("live-keda", { config: (c) => … });   // beforeAll/afterAll
 *   it("…", async () => { const fx = live(); … });
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll } from "vitest";
import { upStack } from "../../automation/engine/operations.js";
import { startEmbeddedCluster, stopEmbeddedCluster, type StartEmbeddedClusterOptions } from "../../cluster/index.js";
import { TEST_CLUSTER_DIR_ENV } from "./laneCluster.js";
import { control, DEPLOY_TIMEOUT_MS, stackFixture, waitReleaseReady, type StackConfigMap, type StackFixture } from "./stackFixture.js";

export interface LiveStackOptions {
  /** Edits of the repository's local stack config. */
  config?: (c: StackConfigMap) => void;
  /** The cluster's shape: nodes and Karpenter's spec (startEmbeddedCluster options). */
  cluster?: Pick<StartEmbeddedClusterOptions, "nodes" | "karpenter">;
}

export function useLiveStack(name: string, opts: LiveStackOptions = {}): () => StackFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sie-fleet-${name}-`));
  const log = (line: string) => console.log(`[${name}] ${line}`);
  let fx: StackFixture | undefined;
  let failed = false;

  beforeAll(async () => {
    await startEmbeddedCluster({ dir, keda: true, onProgress: log, ...opts.cluster });
    process.env[TEST_CLUSTER_DIR_ENV] = dir;
    fx = await stackFixture({
      monitoring: true,
      config: (c) => {
        // KEDA reacts within seconds, so the tests need not wait out production's minutes.
        c["sie-fleet:autoscaling"] = { ...c["sie-fleet:autoscaling"], pollingInterval: 5, cooldownPeriod: 10 };
        opts.config?.(c);
      },
    });
    await upStack(await fx.open(true));
    await waitReleaseReady(fx);
    const load = await control(fx, "load", { rps: 20, durationMs: 30 * 60_000 });
    if (load.status !== 200) throw new Error(`the load generator refused to start: ${JSON.stringify(load.body)}`);
  }, DEPLOY_TIMEOUT_MS);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    if (fx) await control(fx, "load", { action: "stop" }).catch(() => undefined);
    if (!failed) await fx?.cleanup();
    await stopEmbeddedCluster(dir);
    if (failed) console.warn(`[${name}] kept ${dir} (cluster logs in logs/) and ${fx?.dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  return () => {
    if (!fx) throw new Error(`${name}: the stack is not deployed (beforeAll failed)`);
    return fx;
  };
}

/** The ScaledObjects whose HPA KEDA has made (its HPAs are `keda-hpa-<ScaledObject>`), sorted. */
export async function kedaHpaOwners(fx: StackFixture): Promise<string[]> {
  return (await fx.kubeConfig.makeApiClient(k8s.AutoscalingV2Api).listNamespacedHorizontalPodAutoscaler({ namespace: fx.namespace })).items
    .map((h) => h.metadata?.name ?? "")
    .filter((n) => n.startsWith("keda-hpa-"))
    .map((n) => n.slice("keda-hpa-".length))
    .sort();
}
