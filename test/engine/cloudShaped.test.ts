// The production stacks' release sections on nodes shaped as GKE and EKS would register them: the
// gke-prod and eks-prod stack files, with only what the embedded cluster cannot have swapped out
// (the cloud cluster and its add-on charts, which come from registries this machine does not reach),
// deployed onto kwok nodes generated from the program's own pools (cluster/nodes.ts cloudNodes:
// the pool's labels and taints, the cloud's labels, capacity and allocatable from the machine table).
// Every workload schedules on its pool's nodes, nothing stays Pending, and the upgrade waves work
// there: a good version succeeds and a crash-looping one is reverted.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHECKS } from "../../automation/verify/checks.js";
import { upgrade } from "../../automation/actions/upgrade.js";
import { REPO_ROOT } from "../../core/paths.js";
import { readClusterInfo } from "../../cluster/daemonState.js";
import { cloudNodes, nodeObject } from "../../cluster/nodes.js";
import { parseConfig } from "../../infra/config/configParse.js";
import type { EksFleetConfig, GkeFleetConfig } from "../../infra/config/configTypes.js";
import { NODE_POOL_LABEL } from "../../infra/hardware/gpuProfiles.js";
import { buildReleaseValues } from "../../infra/release/releaseValues.js";
import { testClusterDir } from "../support/laneCluster.js";
import { holdsLeft, SCENARIO_TIMEOUT_MS, useStackFixture, waitFor, workloadImages, type StackConfigMap, type StackFixture } from "../support/stackFixture.js";

const GROUP_LABEL = "sie-fleet.test/cloud-shaped";

function prodStack(cloud: "gke" | "eks"): StackConfigMap {
  const file = path.join(REPO_ROOT, "stacks", `Pulumi.${cloud}-prod.yaml`);
  return (yaml.load(fs.readFileSync(file, "utf8")) as { config: StackConfigMap }).config;
}

function lane(): { kubeconfigPath: string } {
  const info = readClusterInfo(testClusterDir());
  if (!info) throw new Error(`no lane cluster in ${testClusterDir()}`);
  return info;
}

function adminCore(): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(lane().kubeconfigPath);
  return kc.makeApiClient(k8s.CoreV1Api);
}

/** Pool keys that only mean something to the cloud's node pools, which cloudNodes() has already played. */
const CLOUD_POOL_KEYS = ["machineType", "instanceType", "zones", "subnetIds", "gpusPerNode", "diskSizeGb"];

/**
 * The prod stack as a `kubernetes` stack on the lane cluster. Kept from the stack file: the pools
 * (names, GPU kinds, replica counts, spot, profiles), the release section, autoscaling and the wave
 * plan. Changed, and why:
 * - cluster: the lane's kubeconfig instead of a cloud cluster;
 * - each pool's nodeSelector: the pool label the cloud program puts on its nodes, plus this run's
 *   group label (the lane cluster's shared nodes carry pool labels of the same names);
 * - workers' resources and the model cache size: the values the cloud stack renders (its limits
 *   and cache are sized to its machines), so the workers ask the scheduler for the same;
 * - gateway and config: on the system pool's nodes (on the cloud they land there as the only
 *   untainted nodes; the lane cluster has other untainted nodes);
 * - keda, Prometheus and Karpenter are not installed (their charts come from registries), and the
 *   gates' windows are the local stack's short ones (no Prometheus to wait for).
 */
function asLaneStack(cloud: "gke" | "eks", cfg: GkeFleetConfig | EksFleetConfig, group: string) {
  return (c: StackConfigMap): void => {
    const prod = prodStack(cloud);
    const local = { ...c };
    for (const k of Object.keys(c)) delete c[k];
    const rendered = buildReleaseValues(cfg) as any;
    const system = Object.values(cfg.pools).find((p) => p.gpu === "cpu" && p.maxReplicas === 0);
    if (!system) throw new Error(`${cloud}-prod has no system pool`);
    const systemSelector = { [NODE_POOL_LABEL]: system.name, [GROUP_LABEL]: group };

    c["sie-fleet:platform"] = "kubernetes";
    c["sie-fleet:cluster"] = { kubeconfig: lane().kubeconfigPath };
    const pools: StackConfigMap = {};
    for (const [name, p] of Object.entries(prod["sie-fleet:pools"] as StackConfigMap)) {
      const kept = Object.fromEntries(Object.entries(p as StackConfigMap).filter(([k]) => !CLOUD_POOL_KEYS.includes(k)));
      const resolved = cfg.pools[name]!;
      pools[name] = {
        ...kept,
        maxReplicas: resolved.maxReplicas,
        nodeSelector: { ...resolved.nodeSelector, [GROUP_LABEL]: group },
        resources: resolved.resources,
      };
    }
    c["sie-fleet:pools"] = pools;
    const release = prod["sie-fleet:release"] as StackConfigMap;
    c["sie-fleet:release"] = {
      ...release,
      // The chart's copies beside the repository (the local stack's source), same version.
      chart: (local["sie-fleet:release"] as StackConfigMap).chart,
      values: {
        ...(release.values ?? {}),
        ...(local["sie-fleet:release"] as StackConfigMap).values,
        workers: { common: { cacheStorageSize: rendered.workers.common.cacheStorageSize } },
        gateway: { ...(release.values?.gateway ?? {}), nodeSelector: systemSelector },
        config: { nodeSelector: systemSelector },
      },
    };
    c["sie-fleet:autoscaling"] = { ...prod["sie-fleet:autoscaling"] };
    c["sie-fleet:monitoring"] = { prometheus: { service: "monitoring/prometheus-operated:9090" } };
    c["sie-fleet:keda"] = { install: false };
    // The lane cluster has no prometheus-operated Service for monitoring.prometheus to name (its
    // own Prometheus, monitoring/prometheus, is left out of test stacks): the Prometheus checks
    // are left out explicitly, as a user would (the reach preflight refuses gates that cannot look).
    const gates = (local["sie-fleet:rollout"] as StackConfigMap).gates as StackConfigMap;
    const noProm = (list: readonly string[]) => list.filter((x) => x !== "prometheus" && x !== "metric-gates");
    c["sie-fleet:rollout"] = {
      ...prod["sie-fleet:rollout"],
      gates: { ...gates, checks: { wave: noProm(DEFAULT_CHECKS.wave), final: noProm(gates.checks?.final ?? DEFAULT_CHECKS.final) } },
    };
  };
}

describe.each(["gke", "eks"] as const)("%s-prod on %s-shaped nodes", (cloud) => {
  const group = randomBytes(3).toString("hex");
  const cfg = parseConfig(prodStack(cloud)) as GkeFleetConfig | EksFleetConfig;
  const nodes = cloudNodes(cfg, { prefix: `cs-${group}-${cloud}`, extraLabels: { [GROUP_LABEL]: group } });

  // Before the fixture's hooks: the nodes exist before the stack deploys onto them.
  beforeAll(async () => {
    const core = adminCore();
    for (const n of nodes) await core.createNode({ body: nodeObject(n) });
    await waitFor(
      `${nodes.length} ${cloud}-shaped nodes Ready`,
      async () => {
        const listed = (await core.listNode({ labelSelector: `${GROUP_LABEL}=${group}` })).items;
        const ready = listed.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ready.length === nodes.length ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );
  }, 180_000);
  afterAll(async () => {
    const core = adminCore();
    for (const n of nodes) await core.deleteNode({ name: n.name }).catch(() => undefined);
  });

  const fixture = useStackFixture({ config: asLaneStack(cloud, cfg, group) });

  interface Placed {
    pod: string;
    component: string;
    /** The pool the pod belongs to (workers and their image pre-pull), else the system pool. */
    wants: string;
    /** The pool label of its node, or Pending. */
    on: string;
  }

  async function placement(fx: StackFixture): Promise<Placed[]> {
    const pods = (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items;
    const byNode = new Map(nodes.map((n) => [n.name, n.labels[NODE_POOL_LABEL] ?? "?"]));
    const system = Object.values(cfg.pools).find((p) => p.gpu === "cpu" && p.maxReplicas === 0)!.name;
    return pods.map((p) => {
      const labels = p.metadata?.labels ?? {};
      const node = p.spec?.nodeName;
      return {
        pod: p.metadata?.name ?? "?",
        component: labels["app.kubernetes.io/component"] ?? "?",
        wants: labels["sie.superlinked.com/pool"] ?? system,
        on: node ? (byNode.get(node) ?? `another node (${node})`) : "Pending",
      };
    });
  }

  it(
    "every pod runs on its own pool's nodes (workers on theirs, gateway and config on the system pool), none Pending",
    async () => {
      const placed = await placement(fixture());
      expect(
        placed.filter((p) => p.on !== p.wants),
        JSON.stringify(placed),
      ).toEqual([]);
      // Pools with minReplicas run their workers; the rest sit at zero.
      const workers = placed.filter((p) => p.component === "worker");
      const expected = Object.values(cfg.pools).reduce((n, p) => n + (p.enabled && p.maxReplicas > 0 ? p.minReplicas : 0), 0);
      expect(workers.length).toBe(expected);
      expect(placed.some((p) => p.component === "gateway")).toBe(true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a good upgrade rolls every wave, pools at zero probed on their own nodes, and leaves no holds",
    async () => {
      const fx = fixture();
      const r = await upgrade({ stack: fx.stack, to: "v0.3.2" }, fx.ctx);
      expect(r.outcome, JSON.stringify("failedGate" in r ? r.failedGate : r).slice(0, 3000)).toBe("succeeded");
      expect(r.waves[0]?.wave.name).toBe("canary");
      expect((await workloadImages(fx)).filter((i) => !i.includes(":v0.3.2"))).toEqual([]);
      expect(await holdsLeft(fx)).toEqual([]);
      expect((await placement(fx)).filter((p) => p.on !== p.wants)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "a crash-looping version is caught in the canary and reverted",
    async () => {
      const fx = fixture();
      const r = await upgrade({ stack: fx.stack, to: "v0.3.3-crashloop" }, fx.ctx);
      expect(r.outcome, JSON.stringify(r).slice(0, 3000)).toBe("reverted");
      expect((await workloadImages(fx)).filter((i) => !i.includes(":v0.3.2"))).toEqual([]);
      expect(await holdsLeft(fx)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
