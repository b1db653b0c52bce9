// Karpenter on EKS, owned by the stack: the controller's IAM role (EKS Pod Identity), the
// interruption queue and its EventBridge rules, the CRD and controller Helm releases, and one
// EC2NodeClass + NodePool per pool whose nodes Karpenter adds (see karpenterNodePools.ts).
//
// No EKS access entry is created for the node role: every stack keeps managed node groups (the
// pools Karpenter itself runs on) with that same role, and EKS creates the role's EC2_LINUX entry
// with them. A principal can have only one access entry, so a second one would fail; Karpenter's
// nodes authenticate through the existing entry.
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { EksClusterConfig, ResolvedPool } from "../config/configTypes.js";
import { NODE_POOL_LABEL } from "../hardware/gpuProfiles.js";
import { INTERRUPTION_EVENTS, controllerPolicy, interruptionQueueName, interruptionQueuePolicy, podIdentityTrustPolicy } from "./karpenterIam.js";
import { buildEc2NodeClass, buildNodePool, parseRoleArn } from "./karpenterNodePools.js";

const CHART_REPO = "oci://public.ecr.aws/karpenter";
/** Set in the chart values and in the Pod Identity association, which must agree. */
const SERVICE_ACCOUNT = "karpenter";

export interface KarpenterArgs {
  cluster: EksClusterConfig;
  /** From the cluster resource (or lookup), so everything here waits for the cluster. */
  clusterName: pulumi.Output<string>;
  /** The EKS cluster security group, which Karpenter's nodes join like managed nodes do. */
  securityGroupId: pulumi.Output<string>;
  /** Pools that get a NodePool (Karpenter pools with nodes above minNodes). */
  pools: ResolvedPool[];
  /** Managed node groups the controller runs on, keyed by pool name. */
  systemGroups: Record<string, { minNodes: number; group: aws.eks.NodeGroup }>;
  provider: k8s.Provider;
}

export interface KarpenterDeployment {
  controllerRole: aws.iam.Role;
  controllerPolicy: aws.iam.RolePolicy;
  podIdentityAgent: aws.eks.Addon;
  podIdentity: aws.eks.PodIdentityAssociation;
  interruptionQueue: aws.sqs.Queue;
  interruptionQueuePolicy: aws.sqs.QueuePolicy;
  interruptionRules: Record<string, { rule: aws.cloudwatch.EventRule; target: aws.cloudwatch.EventTarget }>;
  crds: k8s.helm.v3.Release;
  release: k8s.helm.v3.Release;
  nodeClasses: Record<string, k8s.apiextensions.CustomResource>;
  nodePools: Record<string, k8s.apiextensions.CustomResource>;
}

/** Controller chart values: pinned to the managed node groups, two replicas when there are two nodes for them. */
export function karpenterValues(c: EksClusterConfig, systemPools: string[], systemNodes: number): Record<string, unknown> {
  return {
    settings: { clusterName: c.name, interruptionQueue: interruptionQueueName(c.name) },
    serviceAccount: { name: SERVICE_ACCOUNT },
    // The chart keeps replicas on separate nodes; a second one would stay Pending on a single node.
    replicas: systemNodes >= 2 ? 2 : 1,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: NODE_POOL_LABEL, operator: "In", values: systemPools }] }],
        },
      },
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname" }] },
    },
    controller: {
      // Karpenter's getting-started sizing; requests = limits keeps it out of eviction under pressure.
      resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
      // Otherwise it asks the instance metadata service, which a hop limit of 1 hides from pods.
      env: [{ name: "AWS_REGION", value: c.region }],
    },
  };
}

export function deployKarpenter(a: KarpenterArgs): KarpenterDeployment {
  const c = a.cluster;
  const k = c.karpenter;
  const region = c.region;
  const { partition, accountId } = parseRoleArn(c.nodeRoleArn);
  const systemGroups = Object.values(a.systemGroups).map((g) => g.group);

  const interruptionQueue = new aws.sqs.Queue("karpenter-interruption", {
    name: interruptionQueueName(c.name),
    region,
    // Interruption notices are useless after a few minutes (a Spot warning gives two).
    messageRetentionSeconds: 300,
    sqsManagedSseEnabled: true,
  });
  const queuePolicy = new aws.sqs.QueuePolicy("karpenter-interruption", {
    queueUrl: interruptionQueue.url,
    region,
    policy: interruptionQueue.arn.apply((arn) => JSON.stringify(interruptionQueuePolicy(arn))),
  });
  const interruptionRules = Object.fromEntries(
    Object.entries(INTERRUPTION_EVENTS).map(([key, pattern]) => {
      const rule = new aws.cloudwatch.EventRule(`karpenter-${key}`, {
        region,
        description: `Karpenter interruption handling for EKS cluster ${c.name}: ${pattern["detail-type"].join(", ")}`,
        eventPattern: JSON.stringify(pattern),
      });
      const target = new aws.cloudwatch.EventTarget(`karpenter-${key}`, {
        region,
        rule: rule.name,
        arn: interruptionQueue.arn,
        targetId: "karpenter-interruption-queue",
      });
      return [key, { rule, target }];
    }),
  );

  const controllerRole = new aws.iam.Role("karpenter-controller", {
    description: `Karpenter controller of EKS cluster ${c.name} (EKS Pod Identity)`,
    assumeRolePolicy: JSON.stringify(podIdentityTrustPolicy()),
  });
  const rolePolicy = new aws.iam.RolePolicy("karpenter-controller", {
    role: controllerRole.id,
    policy: interruptionQueue.arn.apply((queueArn) =>
      JSON.stringify(controllerPolicy({ partition, region, accountId, clusterName: c.name, nodeRoleArn: c.nodeRoleArn, interruptionQueueArn: queueArn })),
    ),
  });

  // Pod Identity needs no OIDC provider; the agent is a DaemonSet, so it waits for nodes.
  const podIdentityAgent = new aws.eks.Addon(
    "eks-pod-identity-agent",
    { clusterName: a.clusterName, addonName: "eks-pod-identity-agent", region, resolveConflictsOnCreate: "OVERWRITE" },
    { dependsOn: systemGroups },
  );
  const podIdentity = new aws.eks.PodIdentityAssociation("karpenter", {
    clusterName: a.clusterName,
    region,
    namespace: k.namespace,
    serviceAccount: SERVICE_ACCOUNT,
    roleArn: controllerRole.arn,
  });

  const opts = { provider: a.provider };
  // CRDs in their own release: Helm installs a chart's crds/ once and never upgrades them.
  const crds = new k8s.helm.v3.Release(
    "karpenter-crd",
    {
      name: "karpenter-crd",
      chart: `${CHART_REPO}/karpenter-crd`,
      version: k.version,
      namespace: k.namespace,
      ...(k.namespace !== "kube-system" ? { createNamespace: true } : {}),
    },
    opts,
  );
  const systemNodes = Object.values(a.systemGroups).reduce((n, g) => n + g.minNodes, 0);
  // Pod Identity credentials are injected when the pod is created, so the association and the
  // agent come first; the queue and permissions too, or the controller starts without them.
  const release = new k8s.helm.v3.Release(
    "karpenter",
    {
      name: "karpenter",
      chart: `${CHART_REPO}/karpenter`,
      version: k.version,
      namespace: k.namespace,
      skipCrds: true,
      values: karpenterValues(c, Object.keys(a.systemGroups), systemNodes),
    },
    {
      ...opts,
      dependsOn: [crds, podIdentity, podIdentityAgent, rolePolicy, queuePolicy, ...Object.values(interruptionRules).map((r) => r.target), ...systemGroups],
    },
  );

  const nodeClasses: Record<string, k8s.apiextensions.CustomResource> = {};
  const nodePools: Record<string, k8s.apiextensions.CustomResource> = {};
  for (const pool of a.pools) {
    const nc = buildEc2NodeClass(pool, { nodeRoleArn: c.nodeRoleArn, subnetIds: c.subnetIds, securityGroupId: a.securityGroupId, amiVersion: k.amiVersion });
    nodeClasses[pool.name] = new k8s.apiextensions.CustomResource(`${pool.name}-ec2nodeclass`, nc, { ...opts, dependsOn: [crds, release] });
    const np = buildNodePool(pool, { consolidateAfter: k.consolidateAfter });
    nodePools[pool.name] = new k8s.apiextensions.CustomResource(`${pool.name}-karpenter-nodepool`, np, {
      ...opts,
      dependsOn: [crds, release, nodeClasses[pool.name]!],
    });
  }

  return {
    controllerRole,
    controllerPolicy: rolePolicy,
    podIdentityAgent,
    podIdentity,
    interruptionQueue,
    interruptionQueuePolicy: queuePolicy,
    interruptionRules,
    crds,
    release,
    nodeClasses,
    nodePools,
  };
}
