// Room a cluster's Karpenter NodePools give a pool the stack does not make nodes for: which
// NodePools count (labels or single-value requirements the workers select, taints they
// tolerate), their GPU limits, and the stack's own maxNodes as the ceiling.
import { describe, expect, it } from "vitest";
import { nodePoolGrowth, type GrowthDemand, type NodePoolLike } from "../../automation/plan/capacity/nodePoolGrowth.js";
import { parseConfig } from "../../infra/config/configParse.js";
import { buildNodePool } from "../../infra/platforms/karpenterNodePools.js";
import { tolerationsFor } from "../../infra/hardware/gpuProfiles.js";
import { workerPlacement } from "../../infra/hardware/workerPlacement.js";

const GPU = "nvidia.com/gpu";
const GPU_TAINT = { key: GPU, value: "present", effect: "NoSchedule" };
const TOLERATE_GPU = [{ key: GPU, operator: "Exists", effect: "NoSchedule" }];

const nodePool = (
  name: string,
  over: { labels?: Record<string, string>; taints?: (typeof GPU_TAINT)[]; gpuLimit?: string; gpuUsed?: string } = {},
): NodePoolLike => ({
  metadata: { name },
  spec: {
    template: {
      metadata: { labels: over.labels ?? { "sie-fleet/pool": "a100" } },
      spec: { taints: over.taints ?? [GPU_TAINT], requirements: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["a2-highgpu-1g"] }] },
    },
    ...(over.gpuLimit ? { limits: { [GPU]: over.gpuLimit } } : {}),
  },
  ...(over.gpuUsed ? { status: { resources: { [GPU]: over.gpuUsed } } } : {}),
});

const demand = (over: Partial<GrowthDemand> = {}): GrowthDemand => ({
  selector: { "sie-fleet/pool": "a100" },
  tolerations: TOLERATE_GPU,
  gpusPerNode: 1,
  workersPerNode: 1,
  maxNew: 5,
  ...over,
});

describe("nodePoolGrowth", () => {
  it("counts no growth without a NodePool whose nodes the workers fit", () => {
    expect(nodePoolGrowth([], demand())).toBeUndefined();
    expect(nodePoolGrowth([nodePool("other", { labels: { "sie-fleet/pool": "l4" } })], demand())).toBeUndefined();
    // Its nodes carry a taint the workers do not tolerate.
    expect(nodePoolGrowth([nodePool("tainted")], demand({ tolerations: [] }))).toBeUndefined();
  });

  it("grows up to the stack's maxNodes when the NodePool sets no GPU limit", () => {
    expect(nodePoolGrowth([nodePool("np")], demand())).toEqual({ nodes: 5, workersPerNode: 1, nodePools: ["np"] });
    expect(nodePoolGrowth([nodePool("np")], demand({ maxNew: 0 }))?.nodes).toBe(0);
  });

  it("holds to what the NodePools' GPU limits leave, summed over the ones that fit", () => {
    expect(nodePoolGrowth([nodePool("np", { gpuLimit: "4", gpuUsed: "3" })], demand())?.nodes).toBe(1);
    expect(nodePoolGrowth([nodePool("np", { gpuLimit: "8" })], demand({ gpusPerNode: 4 }))?.nodes).toBe(2);
    expect(nodePoolGrowth([nodePool("full", { gpuLimit: "2", gpuUsed: "2" })], demand())?.nodes).toBe(0);
    expect(nodePoolGrowth([nodePool("a", { gpuLimit: "1" }), nodePool("b", { gpuLimit: "2" })], demand())).toMatchObject({ nodes: 3, nodePools: ["a", "b"] });
  });

  it("matches a selected label a single-value requirement puts on the node", () => {
    const np = nodePool("np", { labels: {} });
    expect(nodePoolGrowth([np], demand({ selector: { "node.kubernetes.io/instance-type": "a2-highgpu-1g" } }))?.nodes).toBe(5);
  });

  it("finds the NodePool an EKS stack renders for a pool from that pool's own placement", () => {
    const cfg = parseConfig({
      "sie-fleet:platform": "local",
      "sie-fleet:pools": { a100: { gpu: "a100-40gb", minNodes: 0, maxNodes: 2, minReplicas: 0, maxReplicas: 2 } },
      "sie-fleet:release": { chart: "./not-read-here", version: "0.3.1", releaseName: "sie", namespace: "sie", imageTag: "v0.3.1" },
    });
    const pool = cfg.pools["a100"]!;
    const placement = workerPlacement(pool);
    const np = buildNodePool(pool, { consolidateAfter: "30s" }) as unknown as NodePoolLike;
    const g = nodePoolGrowth([np], {
      selector: placement.nodeSelector,
      tolerations: tolerationsFor(pool.nodeTaints),
      gpusPerNode: pool.hardware.gpusPerNode,
      workersPerNode: pool.workersPerNode,
      maxNew: pool.maxNodes,
    });
    expect(g?.nodes).toBeGreaterThan(0);
  });
});
