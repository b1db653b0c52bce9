// EKS: an optional cluster, one managed node group per enabled pool, the NVIDIA device plugin
// (AL2023 NVIDIA AMIs ship the driver but not the plugin) and a Kubernetes provider.
import * as aws from "@pulumi/aws";
import { perEnabledPool, type ClusterRef, type ManagedClusterDeployment } from "./clusterRef.js";
import * as k8s from "@pulumi/kubernetes";
import { repoChartRelease } from "./repoChart.js";
import * as pulumi from "@pulumi/pulumi";
import type { EksClusterConfig, EksFleetConfig, ResolvedPool } from "./configTypes.js";
import { GPU_KINDS, GPU_LABEL, GPU_TAINT, cloudTaint, isGpuKind, tolerationsFor } from "./gpu-profiles.js";
import { eksKubeconfig } from "./kubeconfig.js";

const DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin";

export interface EksDeployment extends ManagedClusterDeployment<aws.eks.Cluster> {
  nodeGroups: Record<string, aws.eks.NodeGroup>;
  devicePlugin?: k8s.helm.v3.Release;
}

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

function eksNodeGroupArgs(c: EksClusterConfig, pool: ResolvedPool, clusterName: pulumi.Input<string>): aws.eks.NodeGroupArgs {
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
    scalingConfig: { minSize: pool.minNodes, maxSize: pool.maxNodes, desiredSize: pool.minNodes },
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

function createdCluster(c: EksClusterConfig): ClusterRef<aws.eks.Cluster> {
  const cluster = new aws.eks.Cluster("cluster", eksClusterArgs(c));
  return { cluster, name: cluster.name, endpoint: cluster.endpoint, caData: cluster.certificateAuthority.apply((a) => a.data) };
}

function existingCluster(c: EksClusterConfig): ClusterRef<aws.eks.Cluster> {
  const found = aws.eks.getClusterOutput({ name: c.name, region: c.region });
  return { name: found.name, endpoint: found.endpoint, caData: found.certificateAuthorities.apply((a) => a[0]?.data ?? "") };
}

export function deployEks(cfg: EksFleetConfig): EksDeployment {
  const c = cfg.cluster;
  const { cluster, name: clusterName, endpoint, caData } = c.create ? createdCluster(c) : existingCluster(c);

  // The autoscaler owns desiredSize; a fixed nodeGroupName needs delete-before-replace.
  const nodeGroups = perEnabledPool(
    cfg.pools,
    (pool) =>
      new aws.eks.NodeGroup(`${pool.name}-nodegroup`, eksNodeGroupArgs(c, pool, clusterName), {
        ignoreChanges: ["scalingConfig.desiredSize"],
        deleteBeforeReplace: true,
      }),
  );

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

  const needsPlugin = Object.values(cfg.pools).some((p) => p.enabled && isGpuKind(p.gpu));
  const devicePlugin =
    c.devicePlugin.install && needsPlugin
      ? repoChartRelease(
          { chart: "nvidia-device-plugin", repo: DEVICE_PLUGIN_REPO, version: c.devicePlugin.version, namespace: "kube-system", values: devicePluginValues() },
          { provider },
        )
      : undefined;

  return { clusterName, ...(cluster ? { cluster } : {}), nodeGroups, ...(devicePlugin ? { devicePlugin } : {}), kubeconfig, provider };
}
