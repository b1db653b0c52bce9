// EKS: an optional cluster, managed node groups, Karpenter for the nodes of pools that scale
// (eksKarpenter.ts), the NVIDIA device plugin (AL2023 NVIDIA AMIs ship the driver but not the
// plugin) and a Kubernetes provider.
//
// Which pool gets what depends on cluster.nodeAutoscaler (docs/eks.md):
// - karpenter (default), with Karpenter installed:
//   - a cpu pool without workers (e.g. `system`): a managed node group of exactly minNodes.
//     Karpenter's controller, CoreDNS and the pod identity agent run here, so these nodes must
//     exist before Karpenter does.
//   - a pool with workers, or a GPU pool: a NodePool for the nodes above minNodes, plus, when
//     minNodes > 0, a managed node group of exactly minNodes nodes with the same labels and taints
//     (warm capacity Karpenter never consolidates away).
//   Without Karpenter (karpenter.install false) every pool is a node group of exactly minNodes.
//   Nothing resizes these groups, so config validation requires minNodes = maxNodes wherever
//   Karpenter adds no nodes (karpenterRules.ts).
// - external: every pool is a node group of minNodes..maxNodes whose desired size is left to the
//   autoscaler running in the cluster, tagged for Cluster Autoscaler's discovery and scale from zero;
//   GPU groups' nodes also carry its k8s.amazonaws.com/accelerator label.
import * as aws from "@pulumi/aws";
import type { ClusterRef, ManagedClusterDeployment } from "./clusterRef.js";
import * as k8s from "@pulumi/kubernetes";
import { repoChartRelease } from "../release/repoChart.js";
import * as pulumi from "@pulumi/pulumi";
import type { EksClusterConfig, EksFleetConfig, ResolvedPool } from "../config/configTypes.js";
import {
  GPU_KINDS,
  GPU_LABEL,
  GPU_RESOURCE,
  GPU_TAINT,
  NODE_POOL_LABEL,
  acceleratorName,
  cloudTaint,
  isGpuKind,
  tolerationsFor,
} from "../hardware/gpuProfiles.js";
import { deployKarpenter, type KarpenterDeployment } from "./eksKarpenter.js";
import { hasNodePool, isKarpenterPool } from "./karpenterNodePools.js";
import { eksKubeconfig } from "./kubeconfig.js";

const DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin";

export interface EksDeployment extends ManagedClusterDeployment<aws.eks.Cluster> {
  /** Managed node groups by pool name: system pools and the fixed base of Karpenter pools with minNodes > 0, or (external) every pool. */
  nodeGroups: Record<string, aws.eks.NodeGroup>;
  /** nodeAutoscaler external: Cluster Autoscaler's node-template tags on each node group's Auto Scaling group, by pool name. */
  asgTags?: Record<string, aws.autoscaling.Tag[]>;
  karpenter?: KarpenterDeployment;
  devicePlugin?: k8s.helm.v3.Release;
}

type EksClusterRef = ClusterRef<aws.eks.Cluster> & { securityGroupId: pulumi.Output<string> };

function eksClusterArgs(c: EksClusterConfig): aws.eks.ClusterArgs {
  return {
    name: c.name,
    region: c.region,
    // Checked by config validation: create requires roleArn.
    roleArn: c.roleArn ?? "",
    version: c.version,
    vpcConfig: { subnetIds: c.subnetIds },
    accessConfig: { authenticationMode: "API_AND_CONFIG_MAP", bootstrapClusterCreatorAdminPermissions: true },
    deletionProtection: c.deletionProtection,
  };
}

const CLUSTER_AUTOSCALER = "k8s.io/cluster-autoscaler";
const NODE_TEMPLATE = `${CLUSTER_AUTOSCALER}/node-template/`;
/**
 * Cluster Autoscaler's GPU node label on AWS. A node that carries it but advertises no GPU yet (the
 * device plugin is still starting) counts as a GPU node on its way up, not as one without GPUs,
 * so the autoscaler does not scale out again for the same pending workers.
 */
const CA_ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator";

/** A node group's node labels: the pool's, plus (external) Cluster Autoscaler's GPU label on GPU pools. */
function groupLabels(c: EksClusterConfig, pool: ResolvedPool): Record<string, string> {
  const accelerator = c.nodeAutoscaler === "external" ? acceleratorName(pool.gpu) : undefined;
  return { ...pool.nodeLabels, ...(accelerator ? { [CA_ACCELERATOR_LABEL]: accelerator } : {}) };
}

/**
 * What Cluster Autoscaler assumes about a node of this pool when the group has none to look at
 * (scale from zero): the labels and taints the nodes get, and their GPUs. Keys after
 * `k8s.io/cluster-autoscaler/node-template/`.
 */
function nodeTemplate(c: EksClusterConfig, pool: ResolvedPool): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(groupLabels(c, pool)).map(([k, v]) => [`label/${k}`, v])),
    ...Object.fromEntries(pool.nodeTaints.map((t) => [`taint/${t.key}`, `${t.value}:${t.effect}`])),
    ...(isGpuKind(pool.gpu) ? { [`resources/${GPU_RESOURCE}`]: String(pool.hardware.gpusPerNode) } : {}),
  };
}

/**
 * A node group's tags. For an outside autoscaler also Cluster Autoscaler's: its auto-discovery
 * tags, and the node template (recent Cluster Autoscalers read resource tags from the node group
 * through eks:DescribeNodegroup; labels and taints they read from the group itself).
 */
function nodeGroupTags(c: EksClusterConfig, pool: ResolvedPool): Record<string, string> {
  const own = { [NODE_POOL_LABEL]: pool.name };
  if (c.nodeAutoscaler !== "external") return own;
  const template = Object.entries(nodeTemplate(c, pool)).map(([k, v]) => [`${NODE_TEMPLATE}${k}`, v]);
  return { ...own, [`${CLUSTER_AUTOSCALER}/enabled`]: "true", [`${CLUSTER_AUTOSCALER}/${c.name}`]: "owned", ...Object.fromEntries(template) };
}

/** A node group's size: min..max with desired min, or exactly `fixed` nodes. */
function eksNodeGroupArgs(c: EksClusterConfig, pool: ResolvedPool, clusterName: pulumi.Input<string>, fixed?: number): aws.eks.NodeGroupArgs {
  return {
    clusterName,
    nodeGroupName: pool.name,
    region: c.region,
    nodeRoleArn: c.nodeRoleArn,
    subnetIds: pool.subnetIds ?? c.subnetIds,
    amiType: pool.hardware.amiType,
    instanceTypes: [pool.hardware.instanceType!],
    capacityType: pool.spot ? "SPOT" : "ON_DEMAND",
    diskSize: pool.diskSizeGb,
    scalingConfig:
      fixed === undefined
        ? { minSize: pool.minNodes, maxSize: pool.maxNodes, desiredSize: pool.minNodes }
        : { minSize: fixed, maxSize: fixed, desiredSize: fixed },
    labels: groupLabels(c, pool),
    taints: pool.nodeTaints.map(cloudTaint),
    updateConfig: { maxUnavailable: 1 },
    tags: nodeGroupTags(c, pool),
  };
}

/**
 * The node template again, on the node group's Auto Scaling group: EKS does not copy node group
 * tags there, and a Cluster Autoscaler that cannot call eks:DescribeNodegroup reads only the Auto
 * Scaling group's tags. (EKS itself tags the Auto Scaling group for auto-discovery.)
 */
function autoScalingGroupTags(c: EksClusterConfig, pool: ResolvedPool, group: aws.eks.NodeGroup): aws.autoscaling.Tag[] {
  // A managed node group has one Auto Scaling group; EKS reports it once the group exists.
  const asgName = group.resources.apply((rs) => rs?.[0]?.autoscalingGroups?.[0]?.name ?? "");
  return Object.entries(nodeTemplate(c, pool)).map(
    ([key, value]) =>
      new aws.autoscaling.Tag(`${pool.name}-node-template-${key}`, {
        autoscalingGroupName: asgName,
        region: c.region,
        tag: { key: `${NODE_TEMPLATE}${key}`, value, propagateAtLaunch: false },
      }),
  );
}

/** Device plugin values: tolerate the GPU taint and run only on our GPU nodes (no NFD labels needed). */
function devicePluginValues(): Record<string, unknown> {
  return {
    tolerations: tolerationsFor([GPU_TAINT]),
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: GPU_LABEL, operator: "In", values: GPU_KINDS.filter((k) => isGpuKind(k)) }] }],
        },
      },
    },
  };
}

function createdCluster(c: EksClusterConfig): EksClusterRef {
  const cluster = new aws.eks.Cluster("cluster", eksClusterArgs(c));
  return {
    cluster,
    name: cluster.name,
    endpoint: cluster.endpoint,
    caData: cluster.certificateAuthority.apply((a) => a.data),
    securityGroupId: cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId),
  };
}

function existingCluster(c: EksClusterConfig): EksClusterRef {
  const found = aws.eks.getClusterOutput({ name: c.name, region: c.region });
  return {
    name: found.name,
    endpoint: found.endpoint,
    caData: found.certificateAuthorities.apply((a) => a[0]?.data ?? ""),
    securityGroupId: found.vpcConfig.apply((v) => v.clusterSecurityGroupId),
  };
}

export function deployEks(cfg: EksFleetConfig): EksDeployment {
  const c = cfg.cluster;
  const { cluster, name: clusterName, endpoint, caData, securityGroupId } = c.create ? createdCluster(c) : existingCluster(c);
  const karpenterInstalled = c.karpenter.install;
  const external = c.nodeAutoscaler === "external";
  const enabled = Object.values(cfg.pools).filter((p) => p.enabled);

  // A fixed nodeGroupName needs delete-before-replace. An outside autoscaler owns desiredSize, so
  // it is left alone; otherwise a group has nothing but this stack sizing it: exactly minNodes.
  const nodeGroups: Record<string, aws.eks.NodeGroup> = {};
  const asgTags: Record<string, aws.autoscaling.Tag[]> = {};
  const systemGroups: Record<string, { minNodes: number; group: aws.eks.NodeGroup }> = {};
  for (const pool of enabled) {
    const karpenterPool = karpenterInstalled && isKarpenterPool(pool);
    if (karpenterPool && pool.minNodes === 0) continue;
    const group = new aws.eks.NodeGroup(`${pool.name}-nodegroup`, eksNodeGroupArgs(c, pool, clusterName, external ? undefined : pool.minNodes), {
      ...(external ? { ignoreChanges: ["scalingConfig.desiredSize"] } : {}),
      deleteBeforeReplace: true,
    });
    nodeGroups[pool.name] = group;
    if (!karpenterPool) systemGroups[pool.name] = { minNodes: pool.minNodes, group };
    if (external) asgTags[pool.name] = autoScalingGroupTags(c, pool, group);
  }

  const kubeconfig = pulumi.secret(
    pulumi.all([clusterName, endpoint, caData]).apply(([name, ep, ca]) =>
      eksKubeconfig({
        name: `eks_${c.region}_${name}`,
        clusterName: name,
        region: c.region,
        endpoint: ep,
        caData: ca,
        awsProfile: c.awsProfile,
        assumeRoleArn: c.assumeRoleArn,
      }),
    ),
  );
  const provider = new k8s.Provider("eks-k8s", { kubeconfig }, { dependsOn: cluster ? [cluster] : [] });

  const karpenter = karpenterInstalled
    ? deployKarpenter({
        cluster: c,
        clusterName,
        securityGroupId,
        pools: enabled.filter(hasNodePool),
        systemGroups,
        provider,
      })
    : undefined;

  const needsPlugin = enabled.some((p) => isGpuKind(p.gpu));
  const devicePlugin =
    c.devicePlugin.install && needsPlugin
      ? repoChartRelease(
          { chart: "nvidia-device-plugin", repo: DEVICE_PLUGIN_REPO, version: c.devicePlugin.version, namespace: "kube-system", values: devicePluginValues() },
          { provider },
        )
      : undefined;

  return {
    clusterName,
    ...(cluster ? { cluster } : {}),
    nodeGroups,
    ...(external ? { asgTags } : {}),
    ...(karpenter ? { karpenter } : {}),
    ...(devicePlugin ? { devicePlugin } : {}),
    kubeconfig,
    provider,
  };
}
