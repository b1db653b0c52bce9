// The gke-prod stack's GPU node pools as GKE's cluster autoscaler sees them. A pool at zero nodes
// has no node to look at: the autoscaler simulates one from the node pool's config (machine,
// accelerators, labels, taints) and adds a node only if a Pending worker would fit that template.
import { load } from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { GkeFleetConfig } from "../../../infra/config/configTypes.js";
import { isGpuKind } from "../../../infra/hardware/gpuProfiles.js";
import type { Raw } from "./fixtures.js";
import { byType, one, runWithMocks, type Registered } from "./mocks.js";

const NODE_POOL = "gcp:container/nodePool:NodePool";
const RELEASE = "kubernetes:helm.sh/v3:Release";
/** GKE accelerator types, spelled out so a change in the hardware table shows up here. */
const ACCELERATOR: Record<string, string> = { l4: "nvidia-l4", "a100-40gb": "nvidia-tesla-a100", "a100-80gb": "nvidia-a100-80gb" };
const K8S_EFFECT: Record<string, string> = { NO_SCHEDULE: "NoSchedule", PREFER_NO_SCHEDULE: "PreferNoSchedule", NO_EXECUTE: "NoExecute" };

type Taint = { key: string; value?: string; effect: string };
type Toleration = { key?: string; operator?: string; value?: string; effect?: string };

let deployFleet: typeof import("../../../infra/program.js")["deployFleet"];

beforeAll(async () => {
  // Resource modules are imported only once mocks are in place.
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs });
  ({ deployFleet } = await import("../../../infra/program.js"));
});

function gkeProdRaw(): Raw {
  const text = readFileSync(join(import.meta.dirname, "../../../stacks/Pulumi.gke-prod.yaml"), "utf8");
  return (load(text) as { config: Raw }).config;
}

function tolerates(t: Toleration, taint: Taint): boolean {
  const effect = K8S_EFFECT[taint.effect] ?? taint.effect;
  if (t.effect && t.effect !== effect) return false;
  if (t.operator === "Exists") return t.key === undefined || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

describe("gke-prod: GPU pools the cluster autoscaler can grow from zero", () => {
  let cfg: GkeFleetConfig;
  let resources: Registered[];

  beforeAll(async () => {
    cfg = parseConfig(gkeProdRaw()) as GkeFleetConfig;
    ({ resources } = await runWithMocks(() => deployFleet({ ...cfg, hfToken: undefined })));
  });

  const gpuPools = () => Object.values(cfg.pools).filter((p) => p.enabled && isGpuKind(p.gpu));
  const nodePool = (name: string) => {
    const found = byType(resources, NODE_POOL).find((r) => r.inputs.name === name);
    if (!found) throw new Error(`no node pool ${name}`);
    return found.inputs;
  };

  it("has GPU pools that start at zero nodes, beside a warm one", () => {
    expect(cfg.platform).toBe("gke");
    const zero = gpuPools()
      .filter((p) => p.minNodes === 0)
      .map((p) => p.name)
      .sort();
    expect(zero).toEqual(["a100-40gb", "a100-80gb", "l4-spot"]);
    expect(cfg.pools.l4!.minNodes).toBe(1);
  });

  it("autoscales every GPU node pool between minNodes and maxNodes in total across its zones", () => {
    for (const pool of gpuPools()) {
      const np = nodePool(pool.name);
      // Totals only: GKE refuses per-zone and total limits together.
      expect(np.autoscaling, pool.name).toEqual({ totalMinNodeCount: pool.minNodes, totalMaxNodeCount: pool.maxNodes, locationPolicy: "ANY" });
      if (pool.minNodes === 0) expect(np.initialNodeCount, `${pool.name} creates no node`).toBe(0);
      if (pool.zones) expect(np.nodeLocations, pool.name).toEqual(pool.zones);
      expect(np.nodeConfig.spot, pool.name).toBe(pool.spot);
    }
  });

  it("gives each template the GPUs, labels and taint a Pending worker of that pool needs, and no other pool's", async () => {
    const values = one(resources, RELEASE, "sie-cluster").inputs.values;
    const gpuTaint = { key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" };
    for (const pool of gpuPools()) {
      const np = nodePool(pool.name);
      const worker = values.workers.pools[pool.name];
      expect(worker.enabled, pool.name).toBe(true);

      // The worker requests nvidia.com/gpu (the chart sets it from gpu.count); the template has enough.
      expect(np.nodeConfig.guestAccelerators, pool.name).toHaveLength(1);
      const accel = np.nodeConfig.guestAccelerators[0];
      expect(accel.type, pool.name).toBe(ACCELERATOR[pool.gpu]);
      expect(worker.gpu.count, pool.name).toBeGreaterThanOrEqual(1);
      expect(accel.count, pool.name).toBeGreaterThanOrEqual(worker.gpu.count);
      // GKE installs the driver, so the new node's GPUs become allocatable without anything else.
      expect(accel.gpuDriverInstallationConfig, pool.name).toEqual({ gpuDriverVersion: cfg.cluster.gpuDriverVersion });

      // The nodeSelector names labels the node pool puts on its nodes (so the template has them too).
      expect(Object.keys(worker.nodeSelector).length, pool.name).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(worker.nodeSelector)) expect(np.nodeConfig.labels[k], `${pool.name} label ${k}`).toBe(v);

      // The GPU taint is in the pool's config, not left to GKE, and the worker tolerates every taint there.
      expect(np.nodeConfig.taints, pool.name).toContainEqual(gpuTaint);
      for (const taint of np.nodeConfig.taints as Taint[]) {
        expect(
          (worker.tolerations as Toleration[]).some((t) => tolerates(t, taint)),
          `${pool.name} tolerates ${taint.key}`,
        ).toBe(true);
      }

      // Exactly one template fits, so the autoscaler grows the pool the worker belongs to.
      for (const other of byType(resources, NODE_POOL)) {
        if (other.inputs.name === pool.name) continue;
        const matches = Object.entries(worker.nodeSelector).every(([k, v]) => other.inputs.nodeConfig.labels[k] === v);
        expect(matches, `${pool.name} workers must not fit ${other.inputs.name}`).toBe(false);
      }
    }
  });

  it("keeps an untainted pool with a node for the gateway, config, KEDA and Prometheus", () => {
    const system = nodePool("system");
    expect(system.nodeConfig.taints).toEqual([]);
    expect(system.autoscaling.totalMinNodeCount).toBeGreaterThanOrEqual(1);
  });
});
