// The Pulumi program under mocks: what each platform registers, and what a tag change touches.
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../infra/config/configParse.js";
import type { FleetOutputs } from "../../../infra/program.js";
import { eksRaw, gkeRaw, kubernetesRaw, withValue, type Raw } from "./fixtures.js";
import { byType, isSecretEnvelope, one, resolve, runWithMocks, type Registered } from "./mocks.js";

const NODE_POOL = "gcp:container/nodePool:NodePool";
const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject";
const KARPENTER_NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool";
const K8S_EFFECT: Record<string, string> = { NO_SCHEDULE: "NoSchedule", PREFER_NO_SCHEDULE: "PreferNoSchedule", NO_EXECUTE: "NoExecute" };

let deployFleet: typeof import("../../../infra/program.js")["deployFleet"];

beforeAll(async () => {
  // Resource modules are imported only once mocks are in place.
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs });
  ({ deployFleet } = await import("../../../infra/program.js"));
});

async function run(raw: Raw, hfToken?: string): Promise<{ resources: Registered[]; out: FleetOutputs }> {
  const cfg = parseConfig(raw);
  const { resources, result } = await runWithMocks(() => deployFleet({ ...cfg, hfToken: hfToken ? pulumi.secret(hfToken) : undefined }));
  return { resources, out: result };
}

type Taint = { key: string; value?: string; effect: string };
type Toleration = { key?: string; operator?: string; value?: string; effect?: string };

function tolerates(t: Toleration, taint: Taint): boolean {
  const effect = K8S_EFFECT[taint.effect] ?? taint.effect;
  if (t.effect && t.effect !== effect) return false;
  if (t.operator === "Exists") return t.key === undefined || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

/** The workers of every pool land on that pool's nodes: selector ⊆ labels, every taint tolerated. */
function expectWorkersFitNodes(values: any, nodes: Record<string, { labels: Record<string, string>; taints: Taint[] }>) {
  for (const [pool, node] of Object.entries(nodes)) {
    const w = values.workers.pools[pool];
    if (!w.enabled) continue;
    expect(Object.keys(w.nodeSelector).length, `${pool} selects something`).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(w.nodeSelector)) expect(node.labels[k], `${pool} node label ${k}`).toBe(v);
    for (const taint of node.taints) {
      expect(
        w.tolerations.some((t: Toleration) => tolerates(t, taint)),
        `${pool} tolerates ${taint.key}`,
      ).toBe(true);
    }
    // And the selector picks only this pool's nodes.
    for (const [other, otherNode] of Object.entries(nodes)) {
      if (other === pool) continue;
      const matches = Object.entries(w.nodeSelector).every(([k, v]) => otherNode.labels[k] === v);
      expect(matches, `${pool} workers must not select ${other} nodes`).toBe(false);
    }
  }
}

function expectValidScaledObjects(resources: Registered[], fullname: string, pools: string[]) {
  const sos = byType(resources, SCALED_OBJECT);
  expect(sos.map((s) => s.inputs.metadata.name).sort()).toEqual(pools.map((p) => `${fullname}-worker-${p}-scaler`).sort());
  for (const so of sos) {
    const pool = so.inputs.metadata.labels["sie.superlinked.com/pool"];
    expect(so.inputs.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "StatefulSet", name: `${fullname}-worker-${pool}` });
    expect(() => new ScaledObject(so.inputs as any).validate()).not.toThrow();
  }
}

describe("GKE", () => {
  it("creates a cluster with workload identity and no default pool", async () => {
    const { resources } = await run(gkeRaw());
    const cluster = one(resources, "gcp:container/cluster:Cluster", "cluster").inputs;
    expect(cluster).toMatchObject({
      name: "sie-prod",
      project: "acme-ml-prod",
      location: "us-central1",
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      workloadIdentityConfig: { workloadPool: "acme-ml-prod.svc.id.goog" },
      releaseChannel: { channel: "REGULAR" },
      deletionProtection: true,
    });
  });

  it("maps each GPU kind to its machine type, accelerator, labels and taints", async () => {
    const { resources } = await run(gkeRaw());
    const pools = Object.fromEntries(byType(resources, NODE_POOL).map((r) => [r.inputs.name, r.inputs]));
    expect(Object.keys(pools).sort()).toEqual(["a100-40", "a100-80", "l4", "system"]);
    const gpuTaint = [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }];
    const expected = {
      l4: { machineType: "g2-standard-8", accel: { type: "nvidia-l4", count: 1 }, gpu: "l4", spot: true },
      "a100-40": { machineType: "a2-highgpu-2g", accel: { type: "nvidia-tesla-a100", count: 2 }, gpu: "a100-40gb", spot: false },
      "a100-80": { machineType: "a2-ultragpu-1g", accel: { type: "nvidia-a100-80gb", count: 1 }, gpu: "a100-80gb", spot: false },
    };
    for (const [name, e] of Object.entries(expected)) {
      const p = pools[name]!;
      expect(p.nodeConfig.machineType, name).toBe(e.machineType);
      expect(p.nodeConfig.guestAccelerators, name).toEqual([{ ...e.accel, gpuDriverInstallationConfig: { gpuDriverVersion: "DEFAULT" } }]);
      expect(p.nodeConfig.labels, name).toEqual({ "sie-fleet/gpu": e.gpu, "sie-fleet/pool": name });
      expect(p.nodeConfig.taints, name).toEqual(gpuTaint);
      expect(p.nodeConfig.spot, name).toBe(e.spot);
      expect(p.nodeConfig.workloadMetadataConfig).toEqual({ mode: "GKE_METADATA" });
      expect(p.cluster).toBe("sie-prod");
    }
    expect(pools.l4!.autoscaling).toEqual({ totalMinNodeCount: 0, totalMaxNodeCount: 4, locationPolicy: "ANY" });
    expect(pools["a100-80"]!.nodeLocations).toEqual(["us-central1-c"]);
    expect(pools.system!.nodeConfig.machineType).toBe("n2-standard-8");
    expect(pools.system!.nodeConfig.guestAccelerators).toBeUndefined();
    expect(pools.system!.nodeConfig.taints).toEqual([]);
    expect(pools.system!.initialNodeCount).toBe(1); // ceil(1 node / 2 zones)
  });

  it("puts workers on their own pool's nodes and validates the ScaledObjects", async () => {
    const { resources, out } = await run(gkeRaw());
    const values = one(resources, RELEASE, "sie-cluster").inputs.values;
    const nodes = Object.fromEntries(
      byType(resources, NODE_POOL).map((r) => [r.inputs.name, { labels: r.inputs.nodeConfig.labels, taints: r.inputs.nodeConfig.taints }]),
    );
    expectWorkersFitNodes(values, nodes);
    expect(values.workers.pools.system.enabled).toBe(false); // nodes only
    expectValidScaledObjects(resources, "sie-sie-cluster", ["l4", "a100-40", "a100-80"]);
    expect(out.pools).toEqual({
      l4: { statefulSet: "sie-sie-cluster-worker-l4", scaledObject: "sie-sie-cluster-worker-l4-scaler" },
      "a100-40": { statefulSet: "sie-sie-cluster-worker-a100-40", scaledObject: "sie-sie-cluster-worker-a100-40-scaler" },
      "a100-80": { statefulSet: "sie-sie-cluster-worker-a100-80", scaledObject: "sie-sie-cluster-worker-a100-80-scaler" },
    });
    expect(out.gatewayDeployment).toBe("sie-sie-cluster-gateway");
    expect(out.configDeployment).toBe("sie-sie-cluster-config");
    expect(out.gatewayAddress).toBe("http://sie-sie-cluster-gateway.sie.svc.cluster.local:8080");
    expect(await pulumi.isSecret(out.kubeconfig)).toBe(true);
    expect(JSON.parse(await resolve(out.kubeconfig)).clusters[0].cluster.server).toBe("https://34.1.2.3");
    expect(await resolve(out.helmRevision!)).toBe(1);
  });

  it("uses an existing cluster by name and location", async () => {
    const { resources } = await run(withValue(gkeRaw(), "cluster.create", false));
    expect(byType(resources, "gcp:container/cluster:Cluster")).toEqual([]);
    for (const p of byType(resources, NODE_POOL)) expect(p.inputs).toMatchObject({ cluster: "sie-prod", location: "us-central1", project: "acme-ml-prod" });
  });

  it("passes the chart reference and the HF token as a secret leaf", async () => {
    const { resources } = await run(gkeRaw(), "hf_123");
    const rel = one(resources, RELEASE, "sie-cluster").inputs;
    expect(rel).toMatchObject({ name: "sie", namespace: "sie", chart: "oci://ghcr.io/superlinked/charts/sie-cluster", version: "0.3.1" });
    // Under mocks a nested secret makes the whole `values` input secret; either way the token is never plain.
    expect(isSecretEnvelope(rel.values)).toBe(true);
    const values = (rel.values as { value: any }).value;
    expect(values.hfToken).toEqual({ create: true, value: "hf_123" });
    expect(values.autoscaling).toEqual({ enabled: false });
    expect(values.keda).toEqual({ install: false });
    const plain = one((await run(gkeRaw())).resources, RELEASE, "sie-cluster").inputs.values;
    expect(plain.hfToken).toBeUndefined();
  });
});

/** EKS without Karpenter: every pool a node group, worker pools at a fixed size. */
function eksNodeGroupsOnly(): Raw {
  let raw = withValue(eksRaw(), "cluster.karpenter", { install: false });
  for (const pool of ["l4", "a100-40", "a100-80"]) raw = withValue(raw, `pools.${pool}.minNodes`, (raw["sie-fleet:pools"] as any)[pool].maxNodes);
  return raw;
}

/** EKS whose node groups an autoscaler of the cluster's own sizes. */
function eksExternal(): Raw {
  return withValue(eksRaw(), "cluster.nodeAutoscaler", "external");
}

describe("EKS", () => {
  it("maps each GPU kind to its instance type, AMI, labels and taints", async () => {
    const { resources } = await run(eksNodeGroupsOnly());
    const groups = Object.fromEntries(byType(resources, NODE_GROUP).map((r) => [r.inputs.nodeGroupName, r.inputs]));
    const gpuTaint = [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }];
    const expected = {
      l4: { instance: "g6.2xlarge", gpu: "l4", capacity: "ON_DEMAND" },
      "a100-40": { instance: "p4d.24xlarge", gpu: "a100-40gb", capacity: "ON_DEMAND" },
      "a100-80": { instance: "p4de.24xlarge", gpu: "a100-80gb", capacity: "SPOT" },
    };
    for (const [name, e] of Object.entries(expected)) {
      const g = groups[name]!;
      expect(g.instanceTypes, name).toEqual([e.instance]);
      expect(g.amiType, name).toBe("AL2023_x86_64_NVIDIA");
      expect(g.capacityType, name).toBe(e.capacity);
      expect(g.labels, name).toEqual({ "sie-fleet/gpu": e.gpu, "sie-fleet/pool": name });
      expect(g.taints, name).toEqual(gpuTaint);
      expect(g.nodeRoleArn).toBe("arn:aws:iam::123456789012:role/sie-nodes");
      expect(g.subnetIds).toEqual(["subnet-0a1b2c3d", "subnet-0e1f2a3b"]);
    }
    expect(groups.l4!.scalingConfig).toEqual({ minSize: 4, maxSize: 4, desiredSize: 4 });
    expect(groups.system!.scalingConfig).toEqual({ minSize: 1, maxSize: 1, desiredSize: 1 });
    expect(groups.system).toMatchObject({ instanceTypes: ["m6i.2xlarge"], amiType: "AL2023_x86_64_STANDARD", taints: [] });
    const cluster = one(resources, "aws:eks/cluster:Cluster", "cluster").inputs;
    expect(cluster).toMatchObject({
      name: "sie-prod",
      roleArn: "arn:aws:iam::123456789012:role/sie-cluster",
      version: "1.31",
      vpcConfig: { subnetIds: ["subnet-0a1b2c3d", "subnet-0e1f2a3b"] },
    });
  });

  it("installs the NVIDIA device plugin on GPU nodes and KEDA when asked", async () => {
    const { resources } = await run(eksRaw());
    const plugin = one(resources, RELEASE, "nvidia-device-plugin").inputs;
    expect(plugin).toMatchObject({
      chart: "nvidia-device-plugin",
      repositoryOpts: { repo: "https://nvidia.github.io/k8s-device-plugin" },
      namespace: "kube-system",
    });
    const term = plugin.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0];
    expect(term).toEqual({ key: "sie-fleet/gpu", operator: "In", values: ["l4", "a100-40gb", "a100-80gb"] });
    expect(plugin.values.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    // eksRaw asks for Kubernetes 1.31: the newest KEDA tested on it is 2.18.
    expect(one(resources, RELEASE, "keda").inputs).toMatchObject({ chart: "keda", version: "2.18.3", namespace: "keda" });
  });

  it("puts workers on their own node group or Karpenter NodePool and validates the ScaledObjects", async () => {
    const { resources, out } = await run(eksRaw());
    const values = one(resources, RELEASE, "sie-cluster").inputs.values;
    const nodes = Object.fromEntries(byType(resources, NODE_GROUP).map((r) => [r.inputs.nodeGroupName, { labels: r.inputs.labels, taints: r.inputs.taints }]));
    for (const np of byType(resources, KARPENTER_NODEPOOL)) {
      const pool = np.inputs.metadata.labels["sie-fleet/pool"];
      nodes[pool] = { labels: np.inputs.spec.template.metadata.labels, taints: np.inputs.spec.template.spec.taints };
    }
    expect(Object.keys(nodes).sort()).toEqual(["a100-40", "a100-80", "l4", "system"]);
    expectWorkersFitNodes(values, nodes);
    expectValidScaledObjects(resources, "sie-sie-cluster", ["l4", "a100-40", "a100-80"]);
    const kubeconfig = JSON.parse(await resolve(out.kubeconfig));
    expect(kubeconfig.users[0].user.exec.args).toEqual(["eks", "get-token", "--cluster-name", "sie-prod", "--region", "us-east-1", "--output", "json"]);
  });
});

describe("platform kubernetes", () => {
  it("uses the kubeconfig/context from config and creates only the release side", async () => {
    const { resources, out } = await run(kubernetesRaw());
    expect(one(resources, "pulumi:providers:kubernetes", "kubernetes").inputs).toMatchObject({ kubeconfig: "/home/me/.kube/config", context: "lab" });
    expect(resources.map((r) => r.type).sort()).toEqual(
      ["kubernetes:apps/v1:StatefulSetPatch", "kubernetes:core/v1:Namespace", RELEASE, "pulumi:providers:kubernetes"].sort(),
    );
    const release = one(resources, RELEASE, "sie-cluster").inputs;
    // Worker counts are KEDA's: Helm must not render them (see infra/release/helm/keepWorkerReplicas.mjs).
    expect(release).toMatchObject({ postrender: expect.stringMatching(/\/infra\/release\/helm\/keepWorkerReplicas.mjs$/), skipAwait: true, atomic: false });
    expect(one(resources, "kubernetes:apps/v1:StatefulSetPatch", "l4-replicas").inputs).toMatchObject({
      metadata: { name: "sie-sie-cluster-worker-l4", namespace: "sie" },
      spec: { replicas: 0 },
    });
    const values = release.values;
    expect(values.workers.pools.l4.nodeSelector).toEqual({ "cloud.google.com/gke-accelerator": "nvidia-l4" });
    expect(out.pools.l4).toEqual({ statefulSet: "sie-sie-cluster-worker-l4", scaledObject: null });
  });
});

/** Run twice with only `release.imageTag` changed; return the resources whose inputs differ. */
async function changedByTag(raw: Raw): Promise<{ changed: string[]; before: Registered[]; after: Registered[] }> {
  const before = (await run(raw)).resources;
  const after = (await run(withValue(raw, "release.imageTag", "v0.4.0"))).resources;
  const key = (r: Registered) => `${r.type}::${r.name}`;
  expect(after.map(key).sort()).toEqual(before.map(key).sort());
  const changed = after.filter((a) => !isDeepStrictEqual(a.inputs, before.find((b) => key(b) === key(a))!.inputs)).map(key);
  return { changed, before, after };
}

describe("an image-tag change touches only the Helm release", () => {
  it.each([
    ["gke", gkeRaw],
    ["eks", eksRaw],
    ["eks without Karpenter", eksNodeGroupsOnly],
    ["eks with an outside autoscaler", eksExternal],
    ["kubernetes", kubernetesRaw],
  ])("%s", async (_platform, raw) => {
    const { changed, before, after } = await changedByTag(raw());
    expect(changed).toEqual([`${RELEASE}::sie-cluster`]);
    const tags = (rs: Registered[]) => {
      const v = one(rs, RELEASE, "sie-cluster").inputs.values;
      return [v.workers.common.image.tag, v.gateway.image.tag, v.config.image.tag];
    };
    expect(tags(before)).toEqual(["v0.3.1", "v0.3.1", "v0.3.1"]);
    expect(tags(after)).toEqual(["v0.4.0", "v0.4.0", "v0.4.0"]);
    // Node pools, node groups, clusters and ScaledObjects were all registered and compared.
    expect(before.length).toBeGreaterThan(2);
  });
});
