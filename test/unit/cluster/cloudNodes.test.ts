// Nodes generated from a GKE or EKS stack's own pools: what the scheduler sees on them is what the
// cloud would register (pool labels and taints the program sets, the cloud's labels, allocatable
// from the machine table), so workers fit them exactly when config validation says they fit.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../../core/paths.js";
import { cloudNodes, nodeObject } from "../../../cluster/nodes.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { EksFleetConfig, GkeFleetConfig } from "../../../infra/config/configTypes.js";
import { GPU_TAINT, NODE_POOL_LABEL } from "../../../infra/hardware/gpuProfiles.js";
import { allocatable, machineShape } from "../../../infra/hardware/machineShapes.js";
import { eksRaw, withValue } from "../infra/fixtures.js";

function prod(cloud: "gke" | "eks"): GkeFleetConfig | EksFleetConfig {
  const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", `Pulumi.${cloud}-prod.yaml`), "utf8")) as { config: Record<string, unknown> };
  return parseConfig(doc.config) as GkeFleetConfig | EksFleetConfig;
}

describe("cloudNodes", () => {
  it("gke-prod: one node per pool at least, minNodes where higher, labelled and tainted as the node pools", () => {
    const cfg = prod("gke");
    const nodes = cloudNodes(cfg, { prefix: "t" });
    expect(nodes.map((n) => n.name)).toEqual(["t-l4-0", "t-l4-spot-0", "t-a100-40gb-0", "t-a100-80gb-0", "t-system-0"]);
    const l4 = nodes[0]!;
    expect(l4.labels).toMatchObject({
      [NODE_POOL_LABEL]: "l4",
      "cloud.google.com/gke-nodepool": "l4",
      "cloud.google.com/gke-accelerator": "nvidia-l4",
      "node.kubernetes.io/instance-type": "g2-standard-8",
      "topology.kubernetes.io/zone": "us-central1-a",
    });
    expect(l4.taints).toEqual([GPU_TAINT]);
    expect(nodes[1]!.labels["cloud.google.com/gke-spot"]).toBe("true");
    expect(nodes[4]!.taints).toEqual([]);
    // Allocatable is the machine table's, in the kubelet's units.
    const free = allocatable("gke", machineShape("gke", "g2-standard-8")!);
    expect(l4.allocatable).toMatchObject({ cpu: `${Math.floor(free.cpu * 1000)}m`, "nvidia.com/gpu": "1", pods: "110" });
    expect(nodeObject(l4).status?.allocatable).toEqual(l4.allocatable);
  });

  it("eks-prod: base node-group nodes below minNodes, Karpenter's NodePool above it", () => {
    const cfg = prod("eks");
    const nodes = cloudNodes(cfg, { count: (p) => (p.name === "l4" ? 2 : 1) });
    const l4 = nodes.filter((n) => n.labels[NODE_POOL_LABEL] === "l4");
    expect(l4.map((n) => n.labels["eks.amazonaws.com/nodegroup"] ?? n.labels["karpenter.sh/nodepool"])).toEqual(["l4", "sie-fleet-l4"]);
    const a100 = nodes.find((n) => n.labels[NODE_POOL_LABEL] === "a100-80gb")!;
    expect(a100.labels).toMatchObject({ "karpenter.sh/nodepool": "sie-fleet-a100-80gb", "karpenter.sh/capacity-type": "spot" });
    expect(a100.capacity["nvidia.com/gpu"]).toBe("8");
    expect(nodes.filter((n) => n.labels[NODE_POOL_LABEL] === "system").map((n) => n.labels["eks.amazonaws.com/nodegroup"])).toEqual(["system"]);
  });
});

describe("cloudNodes with Karpenter in the cluster", () => {
  const karpenterLabels = (n: { labels: Record<string, string> }) => Object.keys(n.labels).filter((k) => k.startsWith("karpenter."));

  it("gke-prod: a pool that can grow gets only its minNodes static nodes, possibly none", () => {
    const cfg = prod("gke");
    const nodes = cloudNodes(cfg, { prefix: "t", karpenter: true, count: () => 5 });
    // l4 and system keep minNodes 1; l4-spot and the A100 pools (minNodes 0) start empty.
    expect(nodes.map((n) => n.name)).toEqual(["t-l4-0", "t-system-0"]);
    expect(nodes.flatMap(karpenterLabels)).toEqual([]);
    expect(nodes[0]!.labels["cloud.google.com/gke-nodepool"]).toBe("l4");
  });

  it("eks-prod: Karpenter pools keep their node-group nodes, nothing is faked as Karpenter's, fixed groups are untouched", () => {
    const cfg = prod("eks");
    const nodes = cloudNodes(cfg, { karpenter: true, count: (p) => (p.name === "system" ? 2 : 9) });
    expect(nodes.map((n) => n.name)).toEqual(["eks-l4-0", "eks-system-0", "eks-system-1"]);
    expect(nodes.flatMap(karpenterLabels)).toEqual([]);
    expect(nodes.map((n) => n.labels["eks.amazonaws.com/nodegroup"])).toEqual(["l4", "system", "system"]);
  });

  it("eks without its own Karpenter: every pool as before (nothing for Karpenter to scale)", () => {
    const cfg = parseConfig(withValue(eksRaw(), "cluster.nodeAutoscaler", "external")) as EksFleetConfig;
    expect(cloudNodes(cfg, { karpenter: true }).map((n) => n.name)).toEqual(cloudNodes(cfg).map((n) => n.name));
  });
});
