// EKS: an optional cluster, managed node groups, Karpenter for the nodes of pools that scale
// (eksKarpenter.ts), the NVIDIA device plugin (AL2023 NVIDIA AMIs ship the driver but not the
// plugin) and a Kubernetes provider.
//
// Which pool gets what, with Karpenter installed:
// - a cpu pool without workers (e.g. `system`): a managed node group, minNodes..maxNodes, desired
//   minNodes. Karpenter's controller, CoreDNS and the pod identity agent run here, so these nodes
//   must exist before Karpenter does.
// - a pool with workers, or a GPU pool: a NodePool for the nodes above minNodes, plus, when
//   minNodes > 0, a managed node group of exactly minNodes nodes with the same labels and taints
//   (warm capacity Karpenter never consolidates away).
// Without Karpenter every pool is a node group, and config validation requires minNodes = maxNodes
// for pools with workers, since nothing would add nodes.
import * as aws from "@pulumi/aws";
import type { ClusterRef, ManagedClusterDeployment } from "./clusterRef.js";
import * as k8s from "@pulumi/kubernetes";
import { repoChartRelease } from "./repoChart.js";
import * as pulumi from "@pulumi/pulumi";
import type { EksClusterConfig, EksFleetConfig, ResolvedPool } from "./configTypes.js";
import { GPU_KINDS, GPU_LABEL, GPU_TAINT, cloudTaint, isGpuKind, tolerationsFor } from "./gpu-profiles.js";
import { deployKarpenter, type KarpenterDeployment } from "./eksKarpenter.js";
import { isKarpenterPool, karpenterNodeCount } from "./karpenterNodePools.js";
import { eksKubeconfig } from "./kubeconfig.js";

const DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin";

export interface EksDeployment extends ManagedClusterDeployment<aws.eks.Cluster> {
  /** Managed node groups by pool name: system pools, and the fixed base of Karpenter pools with minNodes > 0. */
  nodeGroups: Record<string, aws.eks.NodeGroup>;
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
    labels: { ...pool.nodeLabels },
    taints: pool.nodeTaints.map(cloudTaint),
    updateConfig: { maxUnavailable: 1 },
    tags: { "sie-fleet/pool": pool.name },
  };
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
  const enabled = Object.values(cfg.pools).filter((p) => p.enabled);

  // A fixed nodeGroupName needs delete-before-replace. System groups are sized by hand (or by
  // minNodes), so desiredSize is left alone; a fixed base group has nothing else sizing it.
  const nodeGroups: Record<string, aws.eks.NodeGroup> = {};
  const systemGroups: Record<string, { minNodes: number; group: aws.eks.NodeGroup }> = {};
  for (const pool of enabled) {
    const karpenterPool = karpenterInstalled && isKarpenterPool(pool);
    if (karpenterPool && pool.minNodes === 0) continue;
    const fixed = karpenterPool ? pool.minNodes : undefined;
    const group = new aws.eks.NodeGroup(`${pool.name}-nodegroup`, eksNodeGroupArgs(c, pool, clusterName, fixed), {
      ...(karpenterPool ? {} : { ignoreChanges: ["scalingConfig.desiredSize"] }),
      deleteBeforeReplace: true,
    });
    nodeGroups[pool.name] = group;
    if (!karpenterPool) systemGroups[pool.name] = { minNodes: pool.minNodes, group };
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
        pools: enabled.filter((p) => isKarpenterPool(p) && karpenterNodeCount(p) > 0),
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
    ...(karpenter ? { karpenter } : {}),
    ...(devicePlugin ? { devicePlugin } : {}),
    kubeconfig,
    provider,
  };
}
