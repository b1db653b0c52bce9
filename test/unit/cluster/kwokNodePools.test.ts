// NodePools and KWOKNodeClasses for Karpenter's kwok provider in the embedded cluster: the EKS
// program's NodePools with a KWOKNodeClass (and GKE's node labels on a GKE stack), for the pools
// Karpenter scales there; and the static nodes left below them.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { kwokInstanceTypes } from "../../../cluster/karpenter/instanceTypes.js";
import { isKarpenterDuration, karpenterLabelProblem, kwokNodeClass, kwokNodePools } from "../../../cluster/karpenter/nodePools.js";
import { cloudNodes, cloudZones, gkeNodeLabels } from "../../../cluster/nodes.js";
import { UsageError } from "../../../core/errors.js";
import { REPO_ROOT } from "../../../core/paths.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { EksFleetConfig, GkeFleetConfig } from "../../../infra/config/configTypes.js";
import { GPU_TAINT, NODE_POOL_LABEL } from "../../../infra/hardware/gpuProfiles.js";
import { buildNodePool, nodePoolLimits } from "../../../infra/platforms/karpenterNodePools.js";
import { eksRaw, gkeRaw, withValue } from "../infra/fixtures.js";

const STACKS = path.join(REPO_ROOT, "stacks");
const OPTS = { consolidateAfter: "30s", registrationDelay: "20s" };

function stackFile(file: string): Record<string, unknown> {
  return (yaml.load(fs.readFileSync(path.join(STACKS, file), "utf8")) as { config: Record<string, unknown> }).config;
}
const prod = (cloud: "gke" | "eks") => parseConfig(stackFile(`Pulumi.${cloud}-prod.yaml`)) as GkeFleetConfig | EksFleetConfig;
const kwokRef = (pool: string) => ({ group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: `sie-fleet-${pool}` });

describe("kwokNodePools on an EKS stack", () => {
  it("are the EKS program's NodePools for the same pools, with a KWOKNodeClass in place of the EC2NodeClass", () => {
    const cfg = prod("eks");
    const { nodePools, nodeClasses } = kwokNodePools(cfg, OPTS);
    // eks-prod: the GPU pools scale; system is a fixed node group.
    expect(nodePools.map((np) => np.metadata.labels[NODE_POOL_LABEL])).toEqual(["l4", "a100-40gb", "a100-80gb"]);
    for (const np of nodePools) {
      const pool = cfg.pools[np.metadata.labels[NODE_POOL_LABEL]!]!;
      const eks = buildNodePool(pool, { consolidateAfter: OPTS.consolidateAfter });
      expect(np).toEqual({
        ...eks,
        spec: { ...eks.spec, template: { ...eks.spec.template, spec: { ...eks.spec.template.spec, nodeClassRef: kwokRef(pool.name) } } },
      });
    }
    expect(nodeClasses).toEqual(
      ["l4", "a100-40gb", "a100-80gb"].map((p) => ({
        apiVersion: "karpenter.kwok.sh/v1alpha1",
        kind: "KWOKNodeClass",
        metadata: { name: `sie-fleet-${p}`, labels: { [NODE_POOL_LABEL]: p } },
        spec: { nodeRegistrationDelay: "20s" },
      })),
    );
  });

  it("are none when the stack installs no Karpenter (its node groups are fixed or someone else's)", () => {
    const cfg = parseConfig(withValue(eksRaw(), "cluster.nodeAutoscaler", "external")) as EksFleetConfig;
    expect(kwokNodePools(cfg, OPTS)).toEqual({ nodeClasses: [], nodePools: [] });
  });
});

describe("kwokNodePools on a GKE stack", () => {
  it("scale every pool that can grow, require its machine type and carry GKE's node labels", () => {
    const cfg = prod("gke");
    const { nodePools } = kwokNodePools(cfg, OPTS);
    expect(nodePools.map((np) => np.metadata.name)).toEqual([
      "sie-fleet-l4",
      "sie-fleet-l4-spot",
      "sie-fleet-a100-40gb",
      "sie-fleet-a100-80gb",
      "sie-fleet-system",
    ]);
    const [l4, spot, , , system] = nodePools;
    expect(l4!.spec.template.metadata.labels).toEqual({
      "cloud.google.com/gke-nodepool": "l4",
      "cloud.google.com/machine-family": "g2",
      "cloud.google.com/gke-accelerator": "nvidia-l4",
      "sie-fleet/gpu": "l4",
      [NODE_POOL_LABEL]: "l4",
    });
    expect(l4!.spec.template.spec.taints).toEqual([GPU_TAINT]);
    expect(l4!.spec.template.spec.requirements).toEqual([
      { key: "node.kubernetes.io/instance-type", operator: "In", values: ["g2-standard-8"] },
      { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
      { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
      { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
    ]);
    expect(l4!.spec.limits).toEqual({ "nvidia.com/gpu": "19" }); // 20 - 1 nodes of 1 L4
    expect(spot!.spec.template.metadata.labels["cloud.google.com/gke-spot"]).toBe("true");
    expect(spot!.spec.template.spec.requirements[1]!.values).toEqual(["spot"]);
    // A cpu pool's vCPU limit comes from the GKE machine table: (3 - 1) × n2-standard-4.
    expect(system!.spec.limits).toEqual({ cpu: "8" });
    expect(system!.spec.template.spec.nodeClassRef).toEqual(kwokRef("system"));
    // The GKE labels are the ones the static nodes get too.
    for (const np of nodePools) {
      const pool = cfg.pools[np.metadata.labels[NODE_POOL_LABEL]!]!;
      expect(np.spec.template.metadata.labels).toEqual({ ...gkeNodeLabels(pool), ...pool.nodeLabels });
    }
  });

  it("bound a GKE cpu pool by its machine's vCPUs even where EKS has no such type", () => {
    const pool = parseConfig(withValue(gkeRaw(), "pools.cpu", { gpu: "cpu", machineType: "n2-standard-16", maxNodes: 3, machineProfile: "cpu-big" })).pools
      .cpu!;
    expect(nodePoolLimits(pool)).toEqual({ cpu: "48" });
  });
});

describe("template labels", () => {
  it("are none Karpenter refuses, in every NodePool of both clouds", () => {
    for (const cloud of ["gke", "eks"] as const) {
      for (const np of kwokNodePools(prod(cloud), OPTS).nodePools) {
        for (const key of Object.keys(np.spec.template.metadata.labels)) {
          expect(karpenterLabelProblem(key), key).toBeUndefined();
          // Nothing in a kubernetes.io / k8s.io domain either (older Karpenters restricted those).
          expect(key.split("/")[0], key).toMatch(/^(sie-fleet|cloud\.google\.com)$/);
        }
      }
    }
  });

  it("are checked as Karpenter v1.14 with the kwok provider checks them", () => {
    expect(karpenterLabelProblem("karpenter.sh/nodepool")).toMatch(/set by Karpenter/);
    expect(karpenterLabelProblem("kubernetes.io/hostname")).toMatch(/set by Karpenter/);
    expect(karpenterLabelProblem("karpenter.sh/anything")).toMatch(/restricted domain karpenter\.sh/);
    expect(karpenterLabelProblem("x.karpenter.sh/anything")).toMatch(/restricted domain karpenter\.sh/);
    expect(karpenterLabelProblem("karpenter.kwok.sh/kwoknodeclass")).toMatch(/restricted domain karpenter\.kwok\.sh/);
    expect(karpenterLabelProblem("karpenter.sh/capacity-type")).toBeUndefined();
    expect(karpenterLabelProblem("karpenter.kwok.sh/instance-family")).toBeUndefined();
    expect(karpenterLabelProblem("cloud.google.com/gke-nodepool")).toBeUndefined();
    expect(karpenterLabelProblem("sie-fleet/pool")).toBeUndefined();
  });
});

describe("durations", () => {
  it("take Karpenter's pattern: whole numbers with s, m or h; consolidateAfter also Never", () => {
    for (const ok of ["0s", "30s", "2m", "1h", "1m30s", "1h0m5s"]) expect(isKarpenterDuration(ok), ok).toBe(true);
    for (const bad of ["", "30", "1.5m", "30S", "-1s", "1d", "Never", " 30s", "30s "]) expect(isKarpenterDuration(bad), bad).toBe(false);
    expect(isKarpenterDuration("Never", { never: true })).toBe(true);
    expect(isKarpenterDuration("never", { never: true })).toBe(false);
  });

  it("refuse a bad registration delay or consolidateAfter with the value and the fix", () => {
    expect(() => kwokNodeClass("l4", "30")).toThrow(UsageError);
    expect(() => kwokNodeClass("l4", "30")).toThrow(/node registration delay "30" is not a Karpenter duration/);
    expect(() => kwokNodeClass("l4", "Never")).toThrow(UsageError);
    const cfg = prod("eks");
    expect(() => kwokNodePools(cfg, { ...OPTS, consolidateAfter: "10 minutes" })).toThrow(/consolidateAfter "10 minutes"/);
    // Checked even when no pool would get a node class.
    const none = parseConfig(withValue(eksRaw(), "cluster.nodeAutoscaler", "external")) as EksFleetConfig;
    expect(() => kwokNodePools(none, { ...OPTS, registrationDelay: "1.5s" })).toThrow(/registration delay "1.5s"/);
    expect(kwokNodePools(cfg, { ...OPTS, consolidateAfter: "Never" }).nodePools[0]!.spec.disruption.consolidateAfter).toBe("Never");
    const err = (() => {
      try {
        kwokNodeClass("l4", "5x");
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(err?.hint).toMatch(/30s/);
  });

  it("give a cluster-scoped KWOKNodeClass named like the NodePool", () => {
    expect(kwokNodeClass("a100", "1m30s")).toEqual({
      apiVersion: "karpenter.kwok.sh/v1alpha1",
      kind: "KWOKNodeClass",
      metadata: { name: "sie-fleet-a100", labels: { [NODE_POOL_LABEL]: "a100" } },
      spec: { nodeRegistrationDelay: "1m30s" },
    });
  });
});

describe("every gke/eks stack file", () => {
  const files = fs.readdirSync(STACKS).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f));
  const clouds = files.flatMap((f) => {
    const cfg = parseConfig(stackFile(f));
    return cfg.platform === "gke" || cfg.platform === "eks" ? [[f, cfg] as const] : [];
  });

  it("includes the gke-prod and eks-prod examples", () => {
    expect(clouds.map(([f]) => f)).toEqual(expect.arrayContaining(["Pulumi.gke-prod.yaml", "Pulumi.eks-prod.yaml"]));
  });

  it.each(clouds)("%s renders NodePools whose machine and capacity type the instance-type file offers", (_file, cfg) => {
    const { nodePools, nodeClasses } = kwokNodePools(cfg, OPTS);
    expect(nodeClasses.map((c) => c.metadata.name)).toEqual(nodePools.map((np) => np.metadata.name));
    const types = kwokInstanceTypes(cfg.platform, { region: cfg.cluster.region, zones: cloudZones(cfg) });
    for (const np of nodePools) {
      const req = Object.fromEntries(np.spec.template.spec.requirements.map((r) => [r.key, r.values ?? []]));
      const type = types.find((t) => t.name === req["node.kubernetes.io/instance-type"]![0]);
      expect(type, np.metadata.name).toBeDefined();
      const capacities = type!.offerings.flatMap((o) => o.Requirements.filter((r) => r.key === "karpenter.sh/capacity-type").flatMap((r) => r.values));
      expect(capacities).toEqual(expect.arrayContaining(req["karpenter.sh/capacity-type"]!));
    }
    expect(() => cloudNodes(cfg, { karpenter: true })).not.toThrow();
  });
});
