// GKE: an optional cluster plus one node pool per enabled sie-fleet pool, and a Kubernetes
// provider for the release. Logical names are stable (`<pool>-nodepool`): renaming one replaces it.
import * as gcp from "@pulumi/gcp";
import { perEnabledPool, type ClusterRef, type ManagedClusterDeployment } from "./clusterRef.js";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GkeClusterConfig, GkeFleetConfig, ResolvedPool } from "../config/configTypes.js";
import { cloudTaint, isGpuKind } from "../hardware/gpuProfiles.js";
import { gkeKubeconfig } from "./kubeconfig.js";

export interface GkeDeployment extends ManagedClusterDeployment<gcp.container.Cluster> {
  nodePools: Record<string, gcp.container.NodePool>;
}

function gkeClusterArgs(c: GkeClusterConfig): gcp.container.ClusterArgs {
  return {
    name: c.name,
    project: c.project,
    location: c.region,
    nodeLocations: c.zones,
    // GKE needs a pool at creation; we drop it and manage every pool ourselves.
    removeDefaultNodePool: true,
    initialNodeCount: 1,
    workloadIdentityConfig: { workloadPool: `${c.project}.svc.id.goog` },
    releaseChannel: { channel: c.releaseChannel },
    deletionProtection: c.deletionProtection,
    network: c.network,
    subnetwork: c.subnetwork,
    minMasterVersion: c.version,
  };
}

/** Node pool inputs for one pool. Pure apart from `clusterName`, so tests can read the mapping directly. */
function gkeNodePoolArgs(c: GkeClusterConfig, pool: ResolvedPool, clusterName: pulumi.Input<string>): gcp.container.NodePoolArgs {
  const gpu = isGpuKind(pool.gpu);
  const zones = pool.zones ?? c.zones;
  return {
    name: pool.name,
    cluster: clusterName,
    project: c.project,
    location: c.region,
    nodeLocations: pool.zones,
    // Per zone. The autoscaler owns the count afterwards (initialNodeCount is ignored after creation).
    initialNodeCount: pool.minNodes === 0 ? 0 : zones ? Math.ceil(pool.minNodes / zones.length) : 1,
    // Totals across zones, so minNodes/maxNodes mean the same on regional and zonal clusters.
    // ANY: GPUs are scarce; take capacity from whichever zone has it.
    autoscaling: { totalMinNodeCount: pool.minNodes, totalMaxNodeCount: pool.maxNodes, locationPolicy: "ANY" },
    management: { autoRepair: true, autoUpgrade: true },
    // Surging a GPU node needs spare GPU quota; replacing in place does not.
    upgradeSettings: gpu ? { strategy: "SURGE", maxSurge: 0, maxUnavailable: 1 } : { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
    nodeConfig: {
      machineType: pool.hardware.machineType,
      diskSizeGb: pool.diskSizeGb,
      diskType: "pd-balanced",
      spot: pool.spot,
      labels: { ...pool.nodeLabels },
      taints: pool.nodeTaints.map(cloudTaint),
      guestAccelerators: gpu
        ? [
            {
              type: pool.hardware.acceleratorType!,
              count: pool.hardware.gpusPerNode,
              gpuDriverInstallationConfig: { gpuDriverVersion: c.gpuDriverVersion },
            },
          ]
        : undefined,
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
      serviceAccount: c.nodeServiceAccount,
    },
  };
}

function createdCluster(c: GkeClusterConfig): ClusterRef<gcp.container.Cluster> {
  const cluster = new gcp.container.Cluster("cluster", gkeClusterArgs(c));
  return { cluster, name: cluster.name, endpoint: cluster.endpoint, caData: cluster.masterAuth.apply((a) => a.clusterCaCertificate) };
}

function existingCluster(c: GkeClusterConfig): ClusterRef<gcp.container.Cluster> {
  const found = gcp.container.getClusterOutput({ name: c.name, location: c.region, project: c.project });
  return { name: found.name, endpoint: found.endpoint, caData: found.masterAuths.apply((a) => a[0]?.clusterCaCertificate ?? "") };
}

export function deployGke(cfg: GkeFleetConfig): GkeDeployment {
  const c = cfg.cluster;
  const { cluster, name: clusterName, endpoint, caData } = c.create ? createdCluster(c) : existingCluster(c);

  // A fixed name (the pool name) collides with create-before-delete, so replace by deleting first.
  const nodePools = perEnabledPool(
    cfg.pools,
    (pool) =>
      new gcp.container.NodePool(`${pool.name}-nodepool`, gkeNodePoolArgs(c, pool, clusterName), {
        deleteBeforeReplace: true,
        ignoreChanges: ["initialNodeCount"],
      }),
  );

  const kubeconfig = pulumi.secret(
    pulumi
      .all([endpoint, caData])
      .apply(([ep, ca]) => gkeKubeconfig({ name: `gke_${c.project}_${c.region}_${c.name}`, endpoint: ep, caData: ca, auth: c.auth })),
  );
  const provider = new k8s.Provider("gke-k8s", { kubeconfig }, { dependsOn: cluster ? [cluster] : [] });
  return { clusterName, ...(cluster ? { cluster } : {}), nodePools, kubeconfig, provider };
}
