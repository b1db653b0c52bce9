/**
 * One embedded cluster per test run, shared by every engine, reliability and benchmark test: a
 * vitest globalSetup that builds the tools if needed, starts (or reuses) the cluster daemon in
 * $SIE_FLEET_TEST_CLUSTER_DIR (default `.sie-fleet/test-cluster`), and hands its directory to the
 * test workers through the environment. Tests take a namespace each (stackFixture.ts).
 *
 * scripts/run-tests.mjs starts it once before the lanes and stops it after them; run alone
 * (`npx vitest run test/engine/…`), this setup starts it and stops it again at the end.
 */
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ensureKubernetesTools } from "../../automation/engine/kubernetesPlugin.js";
import { REPO_ROOT } from "../../core/paths.js";
import { ensurePulumi } from "../../automation/engine/pulumiCli.js";
import { runningEmbeddedCluster, startEmbeddedCluster, stopEmbeddedCluster } from "../../cluster/index.js";

export const TEST_CLUSTER_DIR_ENV = "SIE_FLEET_TEST_CLUSTER_DIR";
/** Every namespace of a test stack starts with this, so a new run can clear an old run's leftovers. */
export const TEST_NAMESPACE_PREFIX = "t-";

export function testClusterDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env[TEST_CLUSTER_DIR_ENV] ?? path.join(REPO_ROOT, ".sie-fleet", "test-cluster"));
}

const log = (line: string): void => {
  process.stderr.write(`[test cluster] ${line}\n`);
};

export default async function setup(): Promise<() => Promise<void>> {
  const dir = testClusterDir();
  process.env[TEST_CLUSTER_DIR_ENV] = dir;
  const wasRunning = runningEmbeddedCluster(dir) !== undefined;
  // The first run on a machine builds everything; later ones find the builds in the tools cache.
  await ensurePulumi({ onProgress: log });
  await ensureKubernetesTools({ onProgress: log });
  // Without KEDA: the engine and reliability tests judge upgrades on pools whose replica counts
  // only the tests change; live autoscaling of those pools is covered by the cluster lane's KEDA test.
  const cluster = await startEmbeddedCluster({ dir, onProgress: log, keda: false });
  if (!wasRunning) log(`started in ${dir} (${cluster.server})`);
  await clearLeftovers(cluster.kubeconfigPath);
  return async () => {
    if (!wasRunning) await stopEmbeddedCluster(dir);
  };
}

/** Deletes namespaces that test stacks of an earlier, killed run left (they would hold GPU capacity). */
async function clearLeftovers(kubeconfigPath: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const stale = (await core.listNamespace()).items.filter((ns) => ns.metadata?.name?.startsWith(TEST_NAMESPACE_PREFIX));
  for (const ns of stale) {
    const name = ns.metadata?.name;
    if (name && !ns.metadata?.deletionTimestamp) await core.deleteNamespace({ name }).catch(() => undefined);
  }
  if (stale.length > 0) log(`deleted ${stale.length} namespace(s) left by an earlier run`);
}
