import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../core/errors.js";
import { loadConfig } from "../../../infra/config/config.js";
import { parseConfig, validateConfig } from "../../../infra/config/configParse.js";
import { IMAGE_TAG_PATTERN_CASES } from "./tagCases.js";
import { eksRaw, gkeRaw, kubernetesRaw, localRaw, withValue, type Raw } from "./fixtures.js";

function problemsOf(raw: Raw) {
  const r = validateConfig(raw);
  if (r.ok) throw new Error("expected the config to be rejected");
  return r.problems.map((p) => ({ path: p.key, message: p.reason, hint: p.hint }));
}

describe("parseConfig: valid configs", () => {
  it("applies the chart's autoscaling defaults and sie-fleet's release defaults", () => {
    const cfg = parseConfig({
      ...localRaw(),
      "sie-fleet:autoscaling": { enabled: true },
      "sie-fleet:monitoring": { prometheus: { service: "monitoring/prometheus-operated:9090" } },
    });
    // No fallbackReplicas: each pool falls back to its own minReplicas (infra/release/fallbackReplicas.ts).
    expect(cfg.autoscaling).toEqual({
      enabled: true,
      pollingInterval: 15,
      cooldownPeriod: 900,
      scaleDownStabilization: 300,
      queueDepthThreshold: 10,
      queueDepthActivation: 2,
    });
    // The embedded cluster's Kubernetes version is not in config: the newest KEDA of the table.
    expect(cfg.keda).toEqual({ install: false, version: "2.20.2", namespace: "keda" });
    expect(cfg.monitoring).toEqual({
      prometheus: {
        source: "service",
        inClusterUrl: "http://prometheus-operated.monitoring.svc.cluster.local:9090",
        service: { namespace: "monitoring", name: "prometheus-operated", port: 9090 },
      },
    });
    expect(cfg.release.chart).toBe("oci://ghcr.io/superlinked/charts/sie-cluster");
    expect(cfg.rollout.gates.maxErrorRatio).toBe(0.01);
    expect(cfg.rollout.revertOnFailure).toBe(true);
    expect(cfg.rollout.promotion).toBeUndefined();
    expect(parseConfig(withValue(gkeRaw(), "rollout.promotion", { from: "staging", minSoakMinutes: 0.05 })).rollout.promotion).toEqual({
      from: "staging",
      minSoakMinutes: 0.05,
    });
    expect(cfg.rollout.zeroReplicaPools).toBe("probe");
    expect(parseConfig(withValue(localRaw(), "rollout.zeroReplicaPools", "report")).rollout.zeroReplicaPools).toBe("report");
  });

  it("accepts keys with or without the sie-fleet: prefix and ignores other namespaces", () => {
    const unprefixed = Object.fromEntries(Object.entries(gkeRaw()).map(([k, v]) => [k.replace(/^sie-fleet:/, ""), v]));
    expect(parseConfig(unprefixed)).toEqual(parseConfig(gkeRaw()));
  });

  it("derives maxReplicas from node capacity and resolves hardware per platform", () => {
    const gke = parseConfig(gkeRaw());
    expect(gke.pools["a100-40"]).toMatchObject({ gpusPerWorker: 1, workersPerNode: 2, maxReplicas: 4 });
    expect(gke.pools["a100-40"]!.hardware).toEqual({ target: "gke", gpusPerNode: 2, machineType: "a2-highgpu-2g", acceleratorType: "nvidia-tesla-a100" });
    const eks = parseConfig(eksRaw());
    expect(eks.pools["a100-40"]).toMatchObject({ workersPerNode: 8, maxReplicas: 4 });
    expect(eks.pools["a100-80"]!.hardware).toEqual({ target: "eks", gpusPerNode: 8, instanceType: "p4de.24xlarge", amiType: "AL2023_x86_64_NVIDIA" });
  });

  it("on platform kubernetes the configured nodeSelector is what workers select", () => {
    const cfg = parseConfig(kubernetesRaw());
    expect(cfg.pools.l4!.nodeSelector).toEqual({ "cloud.google.com/gke-accelerator": "nvidia-l4" });
    expect(cfg.cluster).toEqual({ kubeconfig: "/home/me/.kube/config", context: "lab" });
  });

  it("accepts semver-ish and plain OCI tags", () => {
    for (const tag of IMAGE_TAG_PATTERN_CASES.valid) {
      expect(parseConfig(withValue(localRaw(), "release.imageTag", tag)).release.imageTag).toBe(tag);
    }
  });

  it("accepts an encrypted hfToken in a stack file", () => {
    expect(parseConfig({ ...localRaw(), "sie-fleet:hfToken": { secure: "v1:abc" } }).hasHfToken).toBe(true);
    expect(parseConfig(localRaw()).hasHfToken).toBe(false);
  });
});

// [what, raw config, key path the error must name, message pattern]
const INVALID: [string, () => Raw, string, RegExp][] = [
  [
    "unknown gpu",
    () => withValue(gkeRaw(), "pools.l4.gpu", "h100"),
    "sie-fleet:pools.l4.gpu",
    /unknown value "h100"; expected one of l4, a100-40gb, a100-80gb, cpu/,
  ],
  [
    "minNodes > maxNodes",
    () => withValue(withValue(gkeRaw(), "pools.l4.minNodes", 5), "pools.l4.maxNodes", 4),
    "sie-fleet:pools.l4.maxNodes",
    /maxNodes \(4\) is below minNodes \(5\)/,
  ],
  [
    "minReplicas > maxReplicas",
    () => withValue(withValue(gkeRaw(), "pools.l4.minReplicas", 3), "pools.l4.maxReplicas", 2),
    "sie-fleet:pools.l4.maxReplicas",
    /maxReplicas \(2\) is below minReplicas \(3\)/,
  ],
  [
    "tag with a shell metacharacter",
    () => withValue(gkeRaw(), "release.imageTag", "latest;rm"),
    "sie-fleet:release.imageTag",
    /valid OCI image tag.*got "latest;rm"/,
  ],
  ["empty tag", () => withValue(gkeRaw(), "release.imageTag", ""), "sie-fleet:release.imageTag", /valid OCI image tag/],
  ["tag with a space", () => withValue(gkeRaw(), "release.gatewayTag", "v0.3 .1"), "sie-fleet:release.gatewayTag", /valid OCI image tag/],
  ["image reference instead of a tag", () => withValue(gkeRaw(), "release.configTag", "ghcr.io/x:v1"), "sie-fleet:release.configTag", /valid OCI image tag/],
  ["digest instead of a tag", () => withValue(gkeRaw(), "release.imageTag", "v1@sha256"), "sie-fleet:release.imageTag", /valid OCI image tag/],
  ["missing GCP project", () => withValue(gkeRaw(), "cluster.project", undefined), "sie-fleet:cluster.project", /is required/],
  ["negative replicas", () => withValue(gkeRaw(), "pools.l4.minReplicas", -1), "sie-fleet:pools.l4.minReplicas", /must be ≥ 0 \(got -1\)/],
  ["fractional node count", () => withValue(gkeRaw(), "pools.l4.maxNodes", 1.5), "sie-fleet:pools.l4.maxNodes", /whole number/],
  [
    "unknown platform",
    () => withValue(gkeRaw(), "platform", "aks"),
    "sie-fleet:platform",
    /unknown platform "aks"; expected one of gke, eks, local, kubernetes/,
  ],
  ["missing platform", () => withValue(gkeRaw(), "platform", undefined), "sie-fleet:platform", /is required/],
  ["duplicate pool name ignoring case", () => withValue(gkeRaw(), "pools.L4", { gpu: "l4" }), "sie-fleet:pools.L4", /duplicate pool name: "L4" and "l4"/],
  ["canaryPool not a pool", () => withValue(gkeRaw(), "rollout.canaryPool", "h100"), "sie-fleet:rollout.canaryPool", /"h100" is not a pool/],
  ["canaryPool without workers", () => withValue(gkeRaw(), "rollout.canaryPool", "system"), "sie-fleet:rollout.canaryPool", /runs no workers/],
  [
    "waveOrder names an unknown pool",
    () => withValue(gkeRaw(), "rollout.waveOrder", ["a100-40", "t4"]),
    "sie-fleet:rollout.waveOrder[1]",
    /"t4" is not a pool/,
  ],
  [
    "waveOrder names a pool without workers",
    () => withValue(gkeRaw(), "rollout.waveOrder", ["system"]),
    "sie-fleet:rollout.waveOrder[0]",
    /pool "system" runs no workers/,
  ],
  ["waveOrder lists a pool twice", () => withValue(gkeRaw(), "rollout.waveOrder", ["a100-40", "a100-40"]), "sie-fleet:rollout.waveOrder[1]", /listed twice/],
  ["batchSize 0", () => withValue(gkeRaw(), "rollout.batchSize", 0), "sie-fleet:rollout.batchSize", /must be ≥ 1 \(got 0\)/],
  [
    "L4 machine for an A100 pool",
    () => withValue(gkeRaw(), "pools.a100-40.machineType", "g2-standard-8"),
    "sie-fleet:pools.a100-40.machineType",
    /g2-standard-8 carries l4 GPUs, not a100-40gb/,
  ],
  [
    "GPU count the machine family lacks (GKE)",
    () => withValue(gkeRaw(), "pools.l4.gpusPerNode", 3),
    "sie-fleet:pools.l4.gpusPerNode",
    /gke offers l4 nodes with 1, 2, 4, 8 GPU\(s\), not 3/,
  ],
  [
    "GPU count the machine family lacks (EKS)",
    () => withValue(eksRaw(), "pools.a100-40.gpusPerNode", 1),
    "sie-fleet:pools.a100-40.gpusPerNode",
    /eks offers a100-40gb nodes with 8 GPU\(s\), not 1/,
  ],
  [
    "gpusPerNode disagrees with machineType",
    () => withValue(withValue(gkeRaw(), "pools.l4.machineType", "g2-standard-24"), "pools.l4.gpusPerNode", 1),
    "sie-fleet:pools.l4.gpusPerNode",
    /g2-standard-24 has 2 GPU\(s\) per node, not 1/,
  ],
  [
    "GPU machine for a cpu pool",
    () => withValue(eksRaw(), "pools.system.instanceType", "g6.xlarge"),
    "sie-fleet:pools.system.instanceType",
    /g6.xlarge is a GPU machine \(l4\)/,
  ],
  [
    "instanceType on GKE",
    () => withValue(gkeRaw(), "pools.l4.instanceType", "g6.xlarge"),
    "sie-fleet:pools.l4.instanceType",
    /not used on platform gke; use machineType/,
  ],
  [
    "zone outside the cluster region",
    () => withValue(gkeRaw(), "pools.l4.zones", ["europe-west4-a"]),
    "sie-fleet:pools.l4.zones[0]",
    /europe-west4-a is not in the cluster region us-central1/,
  ],
  [
    "more workers than nodes can hold",
    () => withValue(gkeRaw(), "pools.a100-80.maxReplicas", 2),
    "sie-fleet:pools.a100-80.maxReplicas",
    /exceeds what the node pool can hold: maxNodes 1 × 1 worker\(s\) per node = 1/,
  ],
  ["new cluster without an untainted pool", () => withValue(gkeRaw(), "pools.system", undefined), "sie-fleet:pools", /needs a pool without the GPU taint/],
  ["EKS without node role", () => withValue(eksRaw(), "cluster.nodeRoleArn", undefined), "sie-fleet:cluster.nodeRoleArn", /is required/],
  [
    "new EKS cluster without cluster role",
    () => withValue(eksRaw(), "cluster.roleArn", undefined),
    "sie-fleet:cluster.roleArn",
    /required when cluster.create is true/,
  ],
  ["misspelt pool field", () => withValue(gkeRaw(), "pools.l4.maxNode", 3), "sie-fleet:pools.l4.maxNode", /unknown key/],
  ["misspelt section", () => ({ ...gkeRaw(), "sie-fleet:pool": {} }), "sie-fleet:pool", /unknown config key/],
  [
    "user values override a managed tag",
    () => withValue(gkeRaw(), "release.values", { gateway: { image: { tag: "v9" } } }),
    "sie-fleet:release.values.gateway.image.tag",
    /managed by sie-fleet/,
  ],
  ["plain-text hfToken", () => ({ ...gkeRaw(), "sie-fleet:hfToken": "hf_abc" }), "sie-fleet:hfToken", /must be stored as a secret/],
  [
    "OCI chart without version",
    () => withValue(gkeRaw(), "release.version", undefined),
    "sie-fleet:release.version",
    /required for an OCI or repository chart/,
  ],
  ["bare chart name without repo", () => withValue(gkeRaw(), "release.chart", "sie-cluster"), "sie-fleet:release.chart", /neither an oci:\/\/ reference/],
  ["uppercase namespace", () => withValue(gkeRaw(), "release.namespace", "SIE"), "sie-fleet:release.namespace", /lowercase letters/],
  [
    "prometheus address not a URL",
    () => withValue(gkeRaw(), "autoscaling.prometheusAddress", "prometheus:9090 "),
    "sie-fleet:autoscaling.prometheusAddress",
    /must be a valid url/,
  ],
  [
    "error ratio above 1",
    () => withValue(gkeRaw(), "rollout.gates", { maxErrorRatio: 1.5 }),
    "sie-fleet:rollout.gates.maxErrorRatio",
    /must be ≤ 1 \(got 1.5\)/,
  ],
  [
    "bad forward-only version",
    () => withValue(gkeRaw(), "rollout.forwardOnly", ["v0.4.0", "v0.5 beta"]),
    "sie-fleet:rollout.forwardOnly[1]",
    /valid OCI image tag/,
  ],
  [
    "nodeSelector on a managed platform",
    () => withValue(gkeRaw(), "pools.l4.nodeSelector", { a: "b" }),
    "sie-fleet:pools.l4.nodeSelector",
    /only for platform kubernetes/,
  ],
  ["missing release", () => withValue(gkeRaw(), "release", undefined), "sie-fleet:release", /is required/],
  [
    "promotion from a name that is no stack name",
    () => withValue(gkeRaw(), "rollout.promotion", { from: "../staging", minSoakMinutes: 30 }),
    "sie-fleet:rollout.promotion.from",
    /name of another stack of this project, e\.g\. staging.*pulumi config set --path sie-fleet:rollout\.promotion\.from staging/,
  ],
  [
    "promotion with a negative soak",
    () => withValue(gkeRaw(), "rollout.promotion", { from: "staging", minSoakMinutes: -1 }),
    "sie-fleet:rollout.promotion.minSoakMinutes",
    /must be ≥ 0 \(got -1\)/,
  ],
  [
    "promotion without a soak",
    () => withValue(gkeRaw(), "rollout.promotion", { from: "staging" }),
    "sie-fleet:rollout.promotion.minSoakMinutes",
    /is required/,
  ],
  [
    "a skipped check that does not exist",
    () => withValue(gkeRaw(), "rollout.gates", { skip: ["metric-gates", "metrics"] }),
    "sie-fleet:rollout.gates.skip[1]",
    /unknown value "metrics"; expected one of rollout, .*metric-gates/,
  ],
  ["unknown zero-replica policy", () => withValue(gkeRaw(), "rollout.zeroReplicaPools", "skip"), "sie-fleet:rollout.zeroReplicaPools", /probe.*report/],
  [
    "L4 worker on a machine too small for it (GKE)",
    () => withValue(gkeRaw(), "pools.l4.machineType", "g2-standard-4"),
    "sie-fleet:pools.l4.machineType",
    /g2-standard-4 leaves 3\.42 CPU \/ 12\.3 GiB for workers .*an l4 worker requests 4 CPU \/ 16Gi/,
  ],
  [
    "L4 worker on a machine too small for it (EKS)",
    () => withValue(eksRaw(), "pools.l4.instanceType", "g6.xlarge"),
    "sie-fleet:pools.l4.instanceType",
    /g6\.xlarge leaves 3\.42 CPU \/ 14\.0 GiB for workers .*an l4 worker requests 4 CPU \/ 16Gi/,
  ],
  [
    "fewer workers fit than the GPUs allow",
    () => withValue(gkeRaw(), "pools.a100-40", { gpu: "a100-40gb", machineType: "a2-megagpu-16g" }),
    "sie-fleet:pools.a100-40.machineType",
    /its 16 GPUs make room for 16 workers .* so only 11 fit and 5 GPU\(s\) would stay idle/,
  ],
  [
    "memory limit above what the node leaves",
    () => withValue(gkeRaw(), "pools.a100-80.resources", { limits: { memory: "256Gi" } }),
    "sie-fleet:pools.a100-80.resources.limits.memory",
    /256Gi is above what one a2-ultragpu-1g node leaves: 11\.4 CPU \/ 158\.7 GiB for workers/,
  ],
  [
    "request above the limit",
    () => withValue(eksRaw(), "pools.a100-40.resources", { requests: { cpu: "20" }, limits: { cpu: "12" } }),
    "sie-fleet:pools.a100-40.resources.requests.cpu",
    /20 is above limits\.cpu 12; Kubernetes refuses a pod that requests more than its limit/,
  ],
  [
    "resource that is no quantity",
    () => withValue(gkeRaw(), "pools.l4.resources", { requests: { memory: "16 GB" } }),
    "sie-fleet:pools.l4.resources.requests.memory",
    /"16 GB" is not a Kubernetes quantity/,
  ],
  [
    "cpu pool with workers on an unlisted machine",
    () => withValue(gkeRaw(), "pools.system", { gpu: "cpu", machineType: "n1-standard-8", minNodes: 1, maxNodes: 2 }),
    "sie-fleet:pools.system.machineType",
    /n1-standard-8 is not in sie-fleet's machine table/,
  ],
  [
    "model caches larger than the boot disk",
    () => withValue(gkeRaw(), "release.values", { workers: { common: { cacheStorageSize: "300Gi" } } }),
    "sie-fleet:pools.l4.diskSizeGb",
    /up to 300Gi per worker .*1 worker\(s\) per g2-standard-8 node can fill 300 GiB, but a 200 GB boot disk leaves 140 GiB for model caches/,
  ],
  [
    "boot disk too small for a model cache per worker",
    () => withValue(eksRaw(), "pools.a100-40.diskSizeGb", 100),
    "sie-fleet:pools.a100-40.diskSizeGb",
    /a 100 GB boot disk leaves 50 GiB for model caches .*6 GiB for each of the 8 worker\(s\) per p4d\.24xlarge node/,
  ],
];

describe("parseConfig: invalid configs name the key", () => {
  it.each(INVALID)("%s", (_what, make, path, message) => {
    const problems = problemsOf(make());
    const hit = problems.find((i) => i.path === path && message.test(i.message));
    expect(hit, `problems were: ${JSON.stringify(problems, null, 2)}`).toBeDefined();
  });

  it("has at least 15 distinct invalid cases", () => {
    expect(new Set(INVALID.map(([what]) => what)).size).toBeGreaterThanOrEqual(15);
  });

  it("throws one ConfigError listing every problem with hints", () => {
    let raw = withValue(gkeRaw(), "pools.l4.gpu", "h100");
    raw = withValue(raw, "release.imageTag", "bad tag");
    raw = withValue(raw, "cluster.project", undefined);
    raw = withValue(raw, "pools.l4.maxNode", 3);
    let err: unknown;
    try {
      parseConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.name).toBe("ConfigError");
    expect(e.exitCode).toBe(2);
    expect(e.problems.map((p) => p.key).sort()).toEqual(
      ["sie-fleet:cluster.project", "sie-fleet:pools.l4.gpu", "sie-fleet:pools.l4.maxNode", "sie-fleet:release.imageTag"].sort(),
    );
    expect(e.message).toMatch(/^4 configuration problems:\n/);
    expect(e.message).toContain("sie-fleet:cluster.project: is required (pulumi config set --path sie-fleet:cluster.project <value>)");
    expect(e.problems.find((p) => p.key.endsWith("maxNode"))!.hint).toMatch(/did you mean "maxNodes"/);
  });

  it("rejects each bad tag", () => {
    for (const tag of IMAGE_TAG_PATTERN_CASES.invalid) {
      const problems = problemsOf(withValue(localRaw(), "release.imageTag", tag));
      expect(
        problems.map((i) => i.path),
        `tag ${JSON.stringify(tag)}`,
      ).toContain("sie-fleet:release.imageTag");
    }
  });
});

describe("parseConfig: every pool fits its machine (gke, eks)", () => {
  const hintFor = (raw: Raw, path: string) => problemsOf(raw).find((p) => p.path === path)?.hint;

  it("says which machine would fit, or what to lower", () => {
    expect(hintFor(withValue(gkeRaw(), "pools.l4.machineType", "g2-standard-4"), "sie-fleet:pools.l4.machineType")).toBe(
      "pick g2-standard-8 or larger, or lower pools.l4.resources.requests",
    );
    expect(hintFor(withValue(eksRaw(), "pools.l4.instanceType", "g6.xlarge"), "sie-fleet:pools.l4.instanceType")).toBe(
      "pick g6.2xlarge or larger, or lower pools.l4.resources.requests",
    );
    const mega = withValue(gkeRaw(), "pools.a100-40", { gpu: "a100-40gb", machineType: "a2-megagpu-16g" });
    expect(problemsOf(mega).find((p) => p.path === "sie-fleet:pools.a100-40.machineType")).toEqual({
      path: "sie-fleet:pools.a100-40.machineType",
      message:
        "a2-megagpu-16g leaves 95.19 CPU / 1324.9 GiB for workers (95.69 CPU / 1325.9 GiB allocatable after GKE's reservations, " +
        "less 0.5 CPU / 1 GiB for node daemons); its 16 GPUs make room for 16 workers of 1 GPU(s), which request 128 CPU / 1024.0 GiB together, " +
        "so only 11 fit and 5 GPU(s) would stay idle",
      hint: "lower pools.a100-40.resources.requests.cpu to at most 5.94, raise pools.a100-40.gpusPerWorker, or pick a machine with fewer GPUs",
    });
    // Two GPUs a worker: 8 workers of 8 CPU fit.
    expect(parseConfig(withValue(mega, "pools.a100-40.gpusPerWorker", 2)).pools["a100-40"]!.workersPerNode).toBe(8);
    expect(hintFor(withValue(gkeRaw(), "pools.a100-80.resources", { limits: { memory: "256Gi" } }), "sie-fleet:pools.a100-80.resources.limits.memory")).toBe(
      "lower it to at most 158Gi, or pick a larger machineType",
    );
  });

  it("lowers the chart's default memory limit to what the node leaves, keeps configured limits that fit", () => {
    const gke = parseConfig(gkeRaw());
    // g2-standard-8: 32 GiB less GKE's 3.56 GiB, the eviction threshold and the node daemons.
    expect(gke.pools.l4!.resources).toEqual({ requests: { cpu: "4", memory: "16Gi" }, limits: { cpu: "8", memory: "27Gi" } });
    expect(gke.pools["a100-40"]!.resources.limits).toEqual({ cpu: "16", memory: "128Gi" }); // fits a2-highgpu-2g
    expect(gke.pools["a100-80"]!.resources.limits.memory).toBe("158Gi"); // a2-ultragpu-1g, not 256Gi
    const set = parseConfig(withValue(gkeRaw(), "pools.l4.resources", { limits: { memory: "20Gi" } }));
    expect(set.pools.l4!.resources.limits).toEqual({ cpu: "8", memory: "20Gi" });
    // CPU limits above the node only mean "never throttled below it": accepted.
    expect(parseConfig(withValue(gkeRaw(), "pools.l4.resources", { limits: { cpu: "32" } })).pools.l4!.resources.limits.cpu).toBe("32");
  });

  it("checks only pools that run workers on nodes sie-fleet creates", () => {
    // A system pool (maxReplicas 0) may use any CPU machine; disabled pools create nothing.
    expect(() => parseConfig(withValue(gkeRaw(), "pools.system.machineType", "n1-standard-8"))).not.toThrow();
    expect(() =>
      parseConfig(withValue(gkeRaw(), "pools.spare", { gpu: "l4", machineType: "g2-standard-4", machineProfile: "l4-small", enabled: false })),
    ).not.toThrow();
    // An existing cluster's nodes are not sie-fleet's: no machine to check against.
    expect(() => parseConfig(withValue(kubernetesRaw(), "pools.l4.resources", { requests: { cpu: "64" } }))).not.toThrow();
    // Listed CPU machines with workers are checked like GPU ones.
    const cpu = parseConfig(withValue(eksRaw(), "pools.cpu", { gpu: "cpu", instanceType: "m6i.xlarge", minNodes: 1, maxNodes: 2, machineProfile: "cpu-m6i" }));
    expect(cpu.pools.cpu).toMatchObject({ workersPerNode: 1, maxReplicas: 2 });
    expect(
      problemsOf(
        withValue(eksRaw(), "pools.cpu", { gpu: "cpu", instanceType: "m6i.xlarge", resources: { requests: { cpu: "4" } }, machineProfile: "cpu-m6i" }),
      ),
    ).toContainEqual(expect.objectContaining({ path: "sie-fleet:pools.cpu.instanceType" }));
  });

  it("the model cache: sized to the disks by default, a configured size must fit every pool", () => {
    const hint = hintFor(withValue(eksRaw(), "release.values", { workers: { common: { cacheStorageSize: "20Gi" } } }), "sie-fleet:pools.a100-40.diskSizeGb");
    expect(hint).toBe("raise pools.a100-40.diskSizeGb to at least 223, or lower workers.common.cacheStorageSize to at most 17Gi");
    expect(() => parseConfig(withValue(eksRaw(), "release.values", { workers: { common: { cacheStorageSize: "17Gi" } } }))).not.toThrow();
    expect(problemsOf(withValue(gkeRaw(), "release.values", { workers: { common: { cacheStorageSize: "lots" } } }))).toContainEqual(
      expect.objectContaining({ path: "sie-fleet:release.values.workers.common.cacheStorageSize", message: '"lots" is not a Kubernetes quantity' }),
    );
    // Bigger disks make room for the chart's 300Gi.
    let raw = withValue(gkeRaw(), "release.values", { workers: { common: { cacheStorageSize: "300Gi" } } });
    for (const [pool, disk] of [
      ["l4", 378],
      ["a100-40", 712],
      ["a100-80", 378],
    ] as const)
      raw = withValue(raw, `pools.${pool}.diskSizeGb`, disk);
    expect(() => parseConfig(raw)).not.toThrow();
  });
});

describe("loadConfig", () => {
  it("reads structured keys from Pulumi config and keeps hfToken secret", async () => {
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "sie-fleet", "test");
    const raw = localRaw();
    const all: Record<string, string> = { "aws:region": "us-east-1", "sie-fleet:hfToken": "hf_secret" };
    for (const [k, v] of Object.entries(raw)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
    pulumi.runtime.setAllConfig(all, ["sie-fleet:hfToken"]);

    const cfg = loadConfig();
    expect(cfg.platform).toBe("local");
    expect(cfg.pools.l4!.maxReplicas).toBe(3);
    expect(cfg.hasHfToken).toBe(true);
    expect(await pulumi.isSecret(cfg.hfToken!)).toBe(true);
    expect(await new Promise((r) => cfg.hfToken!.apply(r))).toBe("hf_secret");
  });

  it("throws ConfigError for bad Pulumi config", async () => {
    pulumi.runtime.setAllConfig({ "sie-fleet:platform": "aks", "sie-fleet:release": JSON.stringify({ imageTag: "v1" }) });
    expect(() => loadConfig()).toThrow(ConfigError);
    pulumi.runtime.setAllConfig({});
  });
});
