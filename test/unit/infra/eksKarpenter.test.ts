// Node autoscaling on EKS: which pools Karpenter provisions, their NodePools and EC2NodeClasses,
// the controller's AWS side and Helm releases, node groups left to an outside autoscaler, and the
// config rules around them.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../core/errors.js";
import { parseConfig } from "../../../infra/config/configParse.js";
import { CONTROLLER_POLICY_KARPENTER_MINOR, controllerPolicy } from "../../../infra/platforms/karpenterIam.js";
import { buildNodePool, nodePoolLimits, parseRoleArn } from "../../../infra/platforms/karpenterNodePools.js";
import { DEFAULT_KARPENTER_VERSION } from "../../../infra/config/configSchema.js";
import { karpenterMinor } from "../../../infra/platforms/karpenterVersions.js";
import { eksRaw, withValue, type Raw } from "./fixtures.js";
import { byType, one, runWithMocks, type Registered } from "./mocks.js";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool";
const NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" };

let deployFleet: typeof import("../../../infra/program.js")["deployFleet"];

beforeAll(async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs });
  ({ deployFleet } = await import("../../../infra/program.js"));
});

async function run(raw: Raw): Promise<Registered[]> {
  const cfg = parseConfig(raw);
  return (await runWithMocks(() => deployFleet({ ...cfg, hfToken: undefined }))).resources;
}

const byPool = (rs: Registered[]) => Object.fromEntries(rs.map((r) => [r.inputs.metadata.labels["sie-fleet/pool"], r.inputs]));

function problems(raw: Raw): string[] {
  try {
    parseConfig(raw);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.key}: ${p.reason}${p.hint ? ` (${p.hint})` : ""}`);
  }
}

describe("pools on EKS with Karpenter", () => {
  it("gives every worker and GPU pool a NodePool with its labels, taints, instance type, capacity type and GPU limit", async () => {
    const pools = byPool(byType(await run(eksRaw()), NODEPOOL));
    expect(Object.keys(pools).sort()).toEqual(["a100-40", "a100-80", "l4"]);
    const expected = {
      l4: { type: "g6.2xlarge", capacity: "on-demand", gpu: "l4", gpus: "4" },
      "a100-40": { type: "p4d.24xlarge", capacity: "on-demand", gpu: "a100-40gb", gpus: "8" },
      "a100-80": { type: "p4de.24xlarge", capacity: "spot", gpu: "a100-80gb", gpus: "8" },
    };
    for (const [name, e] of Object.entries(expected)) {
      const np = pools[name]!;
      expect(np.metadata.name).toBe(`sie-fleet-${name}`);
      expect(np.spec.template.metadata.labels).toEqual({ "sie-fleet/gpu": e.gpu, "sie-fleet/pool": name });
      expect(np.spec.template.spec.taints).toEqual([GPU_TAINT]);
      expect(np.spec.template.spec.requirements).toEqual([
        { key: "node.kubernetes.io/instance-type", operator: "In", values: [e.type] },
        { key: "karpenter.sh/capacity-type", operator: "In", values: [e.capacity] },
        { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] },
        { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
      ]);
      expect(np.spec.template.spec.nodeClassRef).toEqual({ group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: `sie-fleet-${name}` });
      expect(np.spec.limits).toEqual({ "nvidia.com/gpu": e.gpus });
      // A node with a loaded model is only removed once it is empty; nodes are not expired.
      expect(np.spec.disruption).toEqual({ consolidationPolicy: "WhenEmpty", consolidateAfter: "10m", budgets: [{ nodes: "1" }] });
      expect(np.spec.template.spec.expireAfter).toBe("Never");
    }
  });

  it("gives each NodePool an EC2NodeClass: AL2023 alias, node role name, subnets and cluster SG by id, root disk, IMDSv2", async () => {
    const raw = withValue(eksRaw(), "pools.a100-80.subnetIds", ["subnet-0aaa1111"]);
    const classes = byPool(byType(await run(raw), NODECLASS));
    expect(Object.keys(classes).sort()).toEqual(["a100-40", "a100-80", "l4"]);
    expect(classes.l4).toMatchObject({ apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass", metadata: { name: "sie-fleet-l4" } });
    expect(classes.l4.spec).toEqual({
      amiSelectorTerms: [{ alias: "al2023@latest" }],
      role: "sie-nodes",
      subnetSelectorTerms: [{ id: "subnet-0a1b2c3d" }, { id: "subnet-0e1f2a3b" }],
      securityGroupSelectorTerms: [{ id: "sg-0c1a2b3c" }],
      blockDeviceMappings: [
        { deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: "200Gi", volumeType: "gp3", encrypted: true, deleteOnTermination: true } },
      ],
      metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
      tags: { "sie-fleet/pool": "l4" },
    });
    expect(classes["a100-80"].spec.subnetSelectorTerms).toEqual([{ id: "subnet-0aaa1111" }]);
  });

  it("keeps the system pool a node group, adds none for min-0 pools and a fixed base group for minNodes > 0", async () => {
    const raw = withValue(eksRaw(), "pools.l4.minNodes", 1);
    const resources = await run(raw);
    const groups = Object.fromEntries(byType(resources, NODE_GROUP).map((r) => [r.inputs.nodeGroupName, r.inputs]));
    expect(Object.keys(groups).sort()).toEqual(["l4", "system"]);
    // Nothing resizes a node group here: each is exactly minNodes.
    expect(groups.system).toMatchObject({ instanceTypes: ["m6i.2xlarge"], taints: [], scalingConfig: { minSize: 1, maxSize: 1, desiredSize: 1 } });
    expect(groups.system.tags).toEqual({ "sie-fleet/pool": "system" });
    // Same labels and taints as the NodePool, exactly minNodes nodes; Karpenter covers the rest.
    expect(groups.l4).toMatchObject({
      instanceTypes: ["g6.2xlarge"],
      amiType: "AL2023_x86_64_NVIDIA",
      labels: { "sie-fleet/gpu": "l4", "sie-fleet/pool": "l4" },
      taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NO_SCHEDULE" }],
      scalingConfig: { minSize: 1, maxSize: 1, desiredSize: 1 },
    });
    expect(byPool(byType(resources, NODEPOOL)).l4.spec.limits).toEqual({ "nvidia.com/gpu": "3" });
  });

  it("makes no NodePool for a pool whose nodes are all base capacity", async () => {
    const resources = await run(withValue(eksRaw(), "pools.a100-40.minNodes", 1));
    expect(byPool(byType(resources, NODEPOOL))["a100-40"]).toBeUndefined();
    expect(byPool(byType(resources, NODECLASS))["a100-40"]).toBeUndefined();
    expect(byType(resources, NODE_GROUP).map((r) => r.inputs.nodeGroupName)).toContain("a100-40");
  });

  it("bounds a cpu worker pool by vCPUs", async () => {
    const raw = withValue(eksRaw(), "pools.cpu", { gpu: "cpu", instanceType: "m6i.4xlarge", minNodes: 1, maxNodes: 5, machineProfile: "cpu-m6i" });
    const resources = await run(raw);
    const np = byPool(byType(resources, NODEPOOL)).cpu;
    expect(np.spec.limits).toEqual({ cpu: "64" }); // 4 nodes above minNodes × 16 vCPUs (machineShapes.ts)
    expect(np.spec.template.spec.taints).toEqual([]);
    expect(byType(resources, NODE_GROUP).find((g) => g.inputs.nodeGroupName === "cpu")!.inputs.scalingConfig).toEqual({
      minSize: 1,
      maxSize: 1,
      desiredSize: 1,
    });
  });

  it("without Karpenter keeps every pool a node group", async () => {
    let raw = withValue(eksRaw(), "cluster.karpenter", { install: false });
    for (const p of ["l4", "a100-40", "a100-80"]) raw = withValue(raw, `pools.${p}.minNodes`, (raw["sie-fleet:pools"] as any)[p].maxNodes);
    const resources = await run(raw);
    expect(
      byType(resources, NODE_GROUP)
        .map((r) => r.inputs.nodeGroupName)
        .sort(),
    ).toEqual(["a100-40", "a100-80", "l4", "system"]);
    expect(resources.filter((r) => r.type.includes("karpenter") || r.name.includes("karpenter") || r.type.startsWith("aws:sqs"))).toEqual([]);
  });
});

describe("pools on EKS with an outside autoscaler (nodeAutoscaler external)", () => {
  const external = () => withValue(eksRaw(), "cluster.nodeAutoscaler", "external");

  it("accepts pools that grow, and creates no Karpenter resource", async () => {
    expect(problems(external())).toEqual([]);
    const resources = await run(external());
    expect(
      resources.filter(
        (r) =>
          r.type.includes("karpenter") ||
          r.name.includes("karpenter") ||
          r.type.startsWith("aws:sqs") ||
          r.type.startsWith("aws:iam") ||
          r.type.startsWith("aws:cloudwatch"),
      ),
    ).toEqual([]);
    expect(byType(resources, "aws:eks/addon:Addon")).toEqual([]);
    expect(parseConfig(external()).cluster).toMatchObject({ nodeAutoscaler: "external", karpenter: { install: false } });
  });

  it("makes every pool a node group of minNodes..maxNodes, GPU pools at 0 included", async () => {
    const groups = Object.fromEntries(byType(await run(external()), NODE_GROUP).map((r) => [r.inputs.nodeGroupName, r.inputs]));
    expect(Object.keys(groups).sort()).toEqual(["a100-40", "a100-80", "l4", "system"]);
    expect(groups.l4.scalingConfig).toEqual({ minSize: 0, maxSize: 4, desiredSize: 0 });
    expect(groups["a100-80"].scalingConfig).toEqual({ minSize: 0, maxSize: 1, desiredSize: 0 });
    expect(groups.system.scalingConfig).toEqual({ minSize: 1, maxSize: 1, desiredSize: 1 });
  });

  it("tags node groups for Cluster Autoscaler's discovery and scale from zero", async () => {
    const resources = await run(external());
    const groups = Object.fromEntries(byType(resources, NODE_GROUP).map((r) => [r.inputs.nodeGroupName, r.inputs]));
    expect(groups["a100-40"].tags).toEqual({
      "sie-fleet/pool": "a100-40",
      "k8s.io/cluster-autoscaler/enabled": "true",
      "k8s.io/cluster-autoscaler/sie-prod": "owned",
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/pool": "a100-40",
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/gpu": "a100-40gb",
      "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator": "nvidia-tesla-a100",
      "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "present:NoSchedule",
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "8",
    });
    expect(groups.system.tags).toEqual({
      "sie-fleet/pool": "system",
      "k8s.io/cluster-autoscaler/enabled": "true",
      "k8s.io/cluster-autoscaler/sie-prod": "owned",
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/pool": "system",
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/gpu": "cpu",
    });
    // EKS does not copy node group tags to the Auto Scaling group: the node template goes there too.
    const asgTags = byType(resources, "aws:autoscaling/tag:Tag").filter((t) => t.name.startsWith("l4-"));
    expect(Object.fromEntries(asgTags.map((t) => [t.inputs.tag.key, t.inputs.tag.value]))).toEqual({
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/pool": "l4",
      "k8s.io/cluster-autoscaler/node-template/label/sie-fleet/gpu": "l4",
      "k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator": "nvidia-l4",
      "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "present:NoSchedule",
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "1",
    });
    for (const t of asgTags) expect(t.inputs).toMatchObject({ region: "us-east-1", tag: { propagateAtLaunch: false } });
    // With Karpenter, neither.
    const karpenter = await run(eksRaw());
    expect(byType(karpenter, "aws:autoscaling/tag:Tag")).toEqual([]);
  });

  it("labels GPU nodes with Cluster Autoscaler's accelerator label, so it waits for their device plugin instead of scaling out again", async () => {
    const labels = (rs: Registered[]) => Object.fromEntries(rs.map((r) => [r.inputs.nodeGroupName, r.inputs.labels["k8s.amazonaws.com/accelerator"]]));
    expect(labels(byType(await run(external()), NODE_GROUP))).toEqual({
      l4: "nvidia-l4",
      "a100-40": "nvidia-tesla-a100",
      "a100-80": "nvidia-a100-80gb",
      system: undefined,
    });
    // Karpenter's node groups (and NodePools) are left as they were.
    for (const group of byType(await run(eksRaw()), NODE_GROUP)) expect(group.inputs.labels).not.toHaveProperty(["k8s.amazonaws.com/accelerator"]);
  });

  it("works on an existing cluster", async () => {
    const resources = await run(withValue(external(), "cluster.create", false));
    expect(byType(resources, "aws:eks/cluster:Cluster")).toEqual([]);
    expect(byType(resources, NODE_GROUP)).toHaveLength(4);
  });

  it("refuses karpenter.install true, which would contradict it", () => {
    expect(problems(withValue(external(), "cluster.karpenter", { install: true }))).toEqual([
      "sie-fleet:cluster.karpenter.install: must not be true with cluster.nodeAutoscaler external, which installs no Karpenter: remove it, or set nodeAutoscaler: karpenter",
    ]);
    expect(problems(withValue(external(), "cluster.nodeAutoscaler", "cluster-autoscaler"))).toEqual([
      expect.stringMatching(/^sie-fleet:cluster\.nodeAutoscaler: unknown value "cluster-autoscaler"; expected one of karpenter, external/),
    ]);
  });
});

describe("the Karpenter controller on EKS", () => {
  it("gets an IAM role through EKS Pod Identity, scoped to the cluster", async () => {
    const resources = await run(eksRaw());
    const role = one(resources, "aws:iam/role:Role", "karpenter-controller").inputs;
    expect(JSON.parse(role.assumeRolePolicy).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
    ]);
    expect(one(resources, "aws:eks/addon:Addon", "eks-pod-identity-agent").inputs).toMatchObject({
      clusterName: "sie-prod",
      addonName: "eks-pod-identity-agent",
    });
    expect(one(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter").inputs).toMatchObject({
      clusterName: "sie-prod",
      namespace: "kube-system",
      serviceAccount: "karpenter",
      roleArn: "arn:aws:iam::123456789012:role/karpenter-controller-1a2b3c",
    });

    const policy = JSON.parse(one(resources, "aws:iam/rolePolicy:RolePolicy", "karpenter-controller").inputs.policy);
    const sid = (s: string) => policy.Statement.find((x: any) => x.Sid === s);
    expect(sid("AllowPassingInstanceRole")).toMatchObject({ Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sie-nodes" });
    expect(sid("AllowInterruptionQueueActions").Resource).toBe("arn:aws:sqs:us-east-1:123456789012:sie-prod-karpenter");
    expect(sid("AllowAPIServerEndpointDiscovery").Resource).toBe("arn:aws:eks:us-east-1:123456789012:cluster/sie-prod");
    expect(sid("AllowSSMReadActions").Resource).toBe("arn:aws:ssm:us-east-1::parameter/aws/service/*");
    expect(sid("AllowScopedDeletion").Condition.StringEquals).toEqual({ "aws:ResourceTag/kubernetes.io/cluster/sie-prod": "owned" });
    expect(sid("AllowRegionalReadActions").Condition).toEqual({ StringEquals: { "aws:RequestedRegion": "us-east-1" } });
    expect(policy.Statement.flatMap((s: any) => [s.Action].flat())).toEqual(
      expect.arrayContaining(["ec2:RunInstances", "ec2:TerminateInstances", "pricing:GetProducts"]),
    );
  });

  it("relies on the node groups' access entry for the node role instead of creating a second one", async () => {
    const resources = await run(eksRaw());
    expect(byType(resources, "aws:eks/accessEntry:AccessEntry")).toEqual([]);
    // The node role Karpenter's nodes use is the one the managed node groups use.
    const classes = byType(resources, NODECLASS);
    for (const g of byType(resources, NODE_GROUP)) expect(parseRoleArn(g.inputs.nodeRoleArn).roleName).toBe(classes[0]!.inputs.spec.role);
  });

  it("gets an interruption queue fed by the spot, rebalance, state-change and health rules", async () => {
    const resources = await run(eksRaw());
    const queue = one(resources, "aws:sqs/queue:Queue", "karpenter-interruption").inputs;
    expect(queue).toMatchObject({ name: "sie-prod-karpenter", region: "us-east-1", messageRetentionSeconds: 300, sqsManagedSseEnabled: true });
    const qp = JSON.parse(one(resources, "aws:sqs/queuePolicy:QueuePolicy", "karpenter-interruption").inputs.policy);
    expect(qp.Statement[0]).toMatchObject({
      Effect: "Allow",
      Action: "sqs:SendMessage",
      Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] },
    });
    expect(qp.Statement[1]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": false } } });

    const patterns = byType(resources, "aws:cloudwatch/eventRule:EventRule").map((r) => JSON.parse(r.inputs.eventPattern));
    expect(patterns.map((p) => `${p.source[0]}: ${p["detail-type"][0]}`).sort()).toEqual([
      "aws.ec2: EC2 Instance Rebalance Recommendation",
      "aws.ec2: EC2 Instance State-change Notification",
      "aws.ec2: EC2 Spot Instance Interruption Warning",
      "aws.health: AWS Health Event",
    ]);
    const targets = byType(resources, "aws:cloudwatch/eventTarget:EventTarget");
    expect(targets).toHaveLength(4);
    for (const t of targets) {
      expect(t.inputs.arn).toBe("arn:aws:sqs:us-east-1:123456789012:sie-prod-karpenter");
      expect(t.inputs.rule).toBe(`${t.name}-1a2b3c`);
    }
  });

  it("is installed from the OCI chart with its CRDs in their own release, on the system pool", async () => {
    const resources = await run(withValue(eksRaw(), "pools.system", { gpu: "cpu", minNodes: 2, maxNodes: 2, maxReplicas: 0 }));
    expect(one(resources, RELEASE, "karpenter-crd").inputs).toMatchObject({
      chart: "oci://public.ecr.aws/karpenter/karpenter-crd",
      version: "1.8.8",
      namespace: "kube-system",
    });
    const rel = one(resources, RELEASE, "karpenter").inputs;
    expect(rel).toMatchObject({
      name: "karpenter",
      chart: "oci://public.ecr.aws/karpenter/karpenter",
      version: "1.8.8",
      namespace: "kube-system",
      skipCrds: true,
    });
    expect(rel.values.settings).toEqual({ clusterName: "sie-prod", interruptionQueue: "sie-prod-karpenter" });
    expect(rel.values.serviceAccount).toEqual({ name: "karpenter" });
    expect(rel.values.replicas).toBe(2);
    expect(rel.values.controller.env).toEqual([{ name: "AWS_REGION", value: "us-east-1" }]);
    expect(rel.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "sie-fleet/pool", operator: "In", values: ["system"] }] },
    ]);
    // One system node cannot hold two replicas that must be on separate nodes.
    expect(one(await run(eksRaw()), RELEASE, "karpenter").inputs.values.replicas).toBe(1);
  });

  it("takes version, namespace, consolidateAfter and AMI release from config", async () => {
    const raw = withValue(eksRaw(), "cluster.karpenter", { version: "1.8.3", namespace: "karpenter", consolidateAfter: "30m", amiVersion: "v20250821" });
    const resources = await run(raw);
    expect(one(resources, RELEASE, "karpenter").inputs).toMatchObject({ version: "1.8.3", namespace: "karpenter" });
    expect(one(resources, RELEASE, "karpenter-crd").inputs).toMatchObject({ version: "1.8.3", namespace: "karpenter", createNamespace: true });
    expect(one(resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter").inputs.namespace).toBe("karpenter");
    expect(byPool(byType(resources, NODEPOOL)).l4.spec.disruption.consolidateAfter).toBe("30m");
    expect(byPool(byType(resources, NODECLASS)).l4.spec.amiSelectorTerms).toEqual([{ alias: "al2023@v20250821" }]);
  });

  it("selects the security group of an existing cluster", async () => {
    const resources = await run(withValue(eksRaw(), "cluster.create", false));
    expect(byType(resources, "aws:eks/cluster:Cluster")).toEqual([]);
    expect(byPool(byType(resources, NODECLASS)).l4.spec.securityGroupSelectorTerms).toEqual([{ id: "sg-0e1f2a3b" }]);
  });
});

describe("Karpenter config rules", () => {
  it("refuses pools that could never grow when Karpenter is not installed, naming the outside-autoscaler option", () => {
    const raw = withValue(eksRaw(), "cluster.karpenter", { install: false });
    const found = problems(raw);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^sie-fleet:pools\.l4\.maxNodes: with cluster\.karpenter\.install false nothing adds nodes to pool "l4" beyond minNodes \(0\).*\(set minNodes = maxNodes \(4\), install Karpenter .*, or set cluster\.nodeAutoscaler: external if an autoscaler of your own .* sizes the node groups\)$/,
        ),
      ]),
    );
    expect(found).toHaveLength(3); // l4, a100-40, a100-80; the system pool is already 1..1
  });

  it("refuses a node-group-only pool that could grow, since with Karpenter nothing resizes node groups", () => {
    const raw = withValue(eksRaw(), "pools.system.maxNodes", 4);
    expect(problems(raw)).toEqual([
      expect.stringMatching(
        /^sie-fleet:pools\.system\.maxNodes: pool "system" runs no workers and has no GPUs, so it is a node group Karpenter does not add to, and nothing resizes it: it stays at minNodes \(1\) and maxNodes 4 is never reached \(set maxNodes = minNodes \(1\); .*cluster\.nodeAutoscaler: external/,
      ),
    ]);
    // Karpenter's pools may grow: it adds their nodes.
    expect(problems(withValue(eksRaw(), "pools.l4.minNodes", 1))).toEqual([]);
  });

  it("needs a node group pool with nodes for the controller", () => {
    const raw = withValue(eksRaw(), "pools.system.minNodes", 0);
    expect(problems(raw)).toEqual([
      expect.stringMatching(/^sie-fleet:pools\.system\.maxNodes: .*stays at minNodes \(0\)/),
      expect.stringMatching(
        /^sie-fleet:pools: Karpenter's controller needs nodes that exist before Karpenter does.*add a pool such as `system: \{gpu: cpu, minNodes: 2, maxNodes: 2/,
      ),
    ]);
    expect(problems(withValue(raw, "cluster.karpenter", { install: false }))).not.toContainEqual(expect.stringMatching(/controller/));
  });

  it("installs only the Karpenter minor the controller policy is written for", () => {
    expect(karpenterMinor(DEFAULT_KARPENTER_VERSION)).toBe(CONTROLLER_POLICY_KARPENTER_MINOR);
    for (const version of ["1.9.2", "1.7.1", "2.8.0"]) {
      expect(problems(withValue(eksRaw(), "cluster.karpenter", { version }))).toEqual([
        `sie-fleet:cluster.karpenter.version: Karpenter ${version} is not supported: the controller policy sie-fleet creates is Karpenter 1.8's, and another minor may need AWS permissions it lacks (use a 1.8.x release such as 1.8.8, or set cluster.nodeAutoscaler: external if an autoscaler of your own (Cluster Autoscaler, your own Karpenter) sizes the node groups)`,
      ]);
    }
    expect(problems(withValue(eksRaw(), "cluster.karpenter", { version: "1.8.0" }))).toEqual([]);
    // Not read when this stack installs no Karpenter.
    expect(problems(withValue(eksRaw(), "cluster.karpenter", { install: false, version: "1.9.2" }))).not.toContainEqual(expect.stringMatching(/version/));
  });

  it("refuses a Kubernetes version Karpenter 1.8 does not support", () => {
    const raw = withValue(eksRaw(), "cluster.version", "1.35");
    expect(problems(raw)).toEqual([
      "sie-fleet:cluster.version: Karpenter 1.8 does not support Kubernetes 1.35 (that needs Karpenter 1.9.0 or later), and the controller policy sie-fleet creates is Karpenter 1.8's (keep cluster.version at 1.34 or older, or set cluster.nodeAutoscaler: external if an autoscaler of your own (Cluster Autoscaler, your own Karpenter) sizes the node groups)",
    ]);
    expect(problems(withValue(eksRaw(), "cluster.version", "1.34"))).toEqual([]);
    expect(problems(withValue(raw, "cluster.nodeAutoscaler", "external"))).toEqual([]);
  });

  it("rejects durations and AMI releases Karpenter would not accept", () => {
    const found = problems(withValue(eksRaw(), "cluster.karpenter", { consolidateAfter: "10 minutes", amiVersion: "2025-08-21", typo: true }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sie-fleet:cluster\.karpenter\.consolidateAfter: must be a duration such as 30s/),
        expect.stringMatching(/^sie-fleet:cluster\.karpenter\.amiVersion: must be latest or an AL2023 EKS AMI release/),
        expect.stringMatching(/^sie-fleet:cluster\.karpenter\.typo: unknown key/),
      ]),
    );
  });

  it("leaves a cpu worker pool on an unlisted instance type to the machine-fit check", () => {
    // Karpenter's cpu limit reads the type's vCPUs from the machine table; poolFit refuses types it lacks, once.
    const raw = withValue(eksRaw(), "pools.cpu", { gpu: "cpu", instanceType: "t3.medium", minNodes: 0, maxNodes: 2, machineProfile: "cpu-t3" });
    expect(problems(raw)).toEqual([expect.stringMatching(/^sie-fleet:pools\.cpu\.instanceType: t3\.medium is not in sie-fleet's machine table/)]);
  });

  it("accepts a valid EKS config", () => {
    expect(problems(eksRaw())).toEqual([]);
  });
});

describe("the pure generators", () => {
  it("take the role name from an ARN with a path", () => {
    expect(parseRoleArn("arn:aws-cn:iam::123456789012:role/eks/nodes/sie-nodes")).toEqual({
      partition: "aws-cn",
      accountId: "123456789012",
      roleName: "sie-nodes",
    });
  });

  it("let another provider's node class and vCPU count through (for the embedded cluster)", () => {
    const pool = parseConfig(withValue(eksRaw(), "pools.cpu", { gpu: "cpu", maxNodes: 3 })).pools.cpu!;
    const np = buildNodePool(pool, {
      consolidateAfter: "1m",
      nodeClassRef: { group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: "default" },
      vcpusPerNode: 2,
    });
    expect(np.spec.template.spec.nodeClassRef.kind).toBe("KWOKNodeClass");
    expect(np.spec.limits).toEqual({ cpu: "6" });
    expect(nodePoolLimits(pool)).toEqual({ cpu: "24" }); // m6i.2xlarge
  });

  it("keep the controller policy within IAM's inline policy size", () => {
    const doc = controllerPolicy({
      partition: "aws",
      region: "ap-southeast-2",
      accountId: "123456789012",
      clusterName: "a".repeat(100),
      nodeRoleArn: `arn:aws:iam::123456789012:role/${"n".repeat(64)}`,
      interruptionQueueArn: `arn:aws:sqs:ap-southeast-2:123456789012:${"q".repeat(80)}`,
    });
    expect(JSON.stringify(doc).length).toBeLessThan(10_240);
  });
});
