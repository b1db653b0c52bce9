/**
 * Fake nodes for the embedded control plane (kwok plays their kubelets), labelled and tainted the way the GKE and EKS node pools
 * that infra/ creates would come up, with the GPU count the device plugin would advertise. Pool
 * labels and taints come from infra/hardware/gpuProfiles.ts (the functions the node pools use), so a worker's
 * nodeSelector/tolerations here cannot drift from what real pools carry.
 */
import type { V1Node } from "@kubernetes/client-node";
import type { EksFleetConfig, GkeFleetConfig, ResolvedPool } from "../infra/config/configTypes.js";
import { GPU_PROFILES, GPU_RESOURCE, cloudMachine, nodeLabels, nodeTaints, type GpuKind } from "../infra/hardware/gpuProfiles.js";
import { hasNodePool, karpenterNodeCount, nodePoolName } from "../infra/platforms/karpenterNodePools.js";
import { allocatable, machineShape, type Cloud, type MachineShape } from "../infra/hardware/machineShapes.js";
import { DISK_EVICTION_FRACTION } from "../infra/release/modelCache.js";

/** kwok manages only nodes with this label, so a stray real node would be left alone. */
export const KWOK_NODE_LABEL = "kwok.x-k8s.io/node";
export const KWOK_NODE_VALUE = "fake";
/** GKE's accelerator label on GPU nodes. */
export const GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator";

export type { Cloud };

export interface FakeNodeSpec {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value: string; effect: string }[];
  /** Capacity as the kubelet reports it. */
  capacity: Record<string, string>;
  /** Allocatable as the kubelet reports it; without it, derived from capacity (200m of CPU held back). */
  allocatable?: Record<string, string>;
}

/** A node of `kind` in pool `pool` as `cloud` would register it. */
export function fakeNode(cloud: Cloud, kind: GpuKind, pool: string, index = 0): FakeNodeSpec {
  const profile = GPU_PROFILES[kind];
  const table = profile[cloud];
  const [gpuText, machine] = Object.entries(table.defaults)[0] ?? ["0", "unknown"];
  const gpus = Number(gpuText);
  // The machine table (infra/hardware/machineShapes.ts) sizes the default machine types of GPU_PROFILES.
  const shape = machineShape(cloud, machine);
  const size = { cpu: shape?.vcpu ?? 8, memoryGi: shape?.memoryGiB ?? 32 };
  const name = `${cloud}-${pool}-${index}`;
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "node.kubernetes.io/instance-type": machine,
    ...nodeLabels(pool, kind),
    [KWOK_NODE_LABEL]: KWOK_NODE_VALUE,
  };
  if (cloud === "gke") {
    Object.assign(labels, {
      "cloud.google.com/gke-nodepool": pool,
      "cloud.google.com/machine-family": machine.split("-")[0] ?? machine,
      "topology.kubernetes.io/region": "us-central1",
      "topology.kubernetes.io/zone": "us-central1-a",
    });
    const accelerator = GPU_PROFILES[kind].gke.acceleratorType;
    if (accelerator && gpus > 0) labels[GKE_ACCELERATOR_LABEL] = accelerator;
  } else {
    Object.assign(labels, {
      "eks.amazonaws.com/nodegroup": pool,
      "eks.amazonaws.com/capacityType": "ON_DEMAND",
      "topology.kubernetes.io/region": "us-east-1",
      "topology.kubernetes.io/zone": "us-east-1a",
    });
  }
  const capacity: Record<string, string> = {
    cpu: String(size.cpu),
    memory: `${size.memoryGi}Gi`,
    pods: "110",
    "ephemeral-storage": `${profile.defaultDiskSizeGb}Gi`,
  };
  if (gpus > 0) capacity["nvidia.com/gpu"] = String(gpus);
  return { name, labels, taints: nodeTaints(kind), capacity };
}

export interface FleetPool {
  kind: GpuKind;
  pool: string;
  count: number;
}

/**
 * The default fleet: large enough for several test stacks side by side (each wants a node or two
 * per pool). Deliberately no A100 80 GB nodes, so a pool of that kind stays Pending.
 */
export const DEFAULT_FLEET: readonly FleetPool[] = [
  { kind: "l4", pool: "l4", count: 6 },
  { kind: "a100-40gb", pool: "a100", count: 4 },
  { kind: "cpu", pool: "cpu", count: 4 },
];

/** `count` nodes of each pool, as `cloud` would register them: `<cloud>-<pool>-<index>`. */
export function fleet(cloud: Cloud, pools: readonly FleetPool[]): FakeNodeSpec[] {
  return pools.flatMap((p) => Array.from({ length: p.count }, (_, i) => fakeNode(cloud, p.kind, p.pool, i)));
}

export function defaultNodes(): FakeNodeSpec[] {
  return fleet("gke", DEFAULT_FLEET);
}

/** The Node object to create; kwok's node stage then marks it Ready and keeps the capacity. */
export function nodeObject(spec: FakeNodeSpec): V1Node {
  // What the kubelet would hold back for the system; the rest is allocatable.
  const allocatable = spec.allocatable ? { ...spec.allocatable } : { ...spec.capacity };
  const cpu = Number(spec.capacity["cpu"] ?? "0");
  if (!spec.allocatable && cpu > 1) allocatable["cpu"] = `${cpu * 1000 - 200}m`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: spec.name, labels: spec.labels, annotations: { "node.alpha.kubernetes.io/ttl": "0" } },
    spec: { taints: spec.taints },
    status: { capacity: spec.capacity, allocatable },
  };
}

/** A node's allocatable after the platform's reservations (machineShapes.ts), in the kubelet's whole millicores and MiB. */
export function kubeletAllocatable(cloud: Cloud, shape: MachineShape): { cpuMillis: number; memoryMiB: number; pods: number } {
  const free = allocatable(cloud, shape);
  return { cpuMillis: Math.floor(free.cpu * 1000), memoryMiB: Math.floor(free.memoryGiB * 1024), pods: free.pods };
}

/** Ephemeral storage a boot disk of `diskGb` leaves to pods: the kubelet's default nodefs eviction threshold is held back. */
export function allocatableDiskGi(diskGb: number): number {
  return Math.floor(diskGb * (1 - DISK_EVICTION_FRACTION));
}

/**
 * Whether Karpenter (its kwok provider, when the embedded cluster runs it) adds this pool's nodes
 * above minNodes. EKS: the pools the stack's own Karpenter has a NodePool for (none when it installs
 * no Karpenter: then its node groups are fixed, or sized by an outside autoscaler). GKE: every
 * pool that can grow, as Karpenter plays GKE's cluster autoscaler (minNodes..maxNodes).
 */
export function scaledByKarpenter(cfg: GkeFleetConfig | EksFleetConfig, pool: ResolvedPool): boolean {
  if (cfg.platform === "eks") return cfg.cluster.karpenter.install && hasNodePool(pool);
  return pool.enabled && karpenterNodeCount(pool) > 0;
}

export interface CloudNodesOptions {
  /**
   * Nodes per pool (default: the pool's minNodes, at least 1 so every pool can take a worker). With
   * `karpenter`, only for the pools Karpenter does not scale.
   */
  count?: (pool: ResolvedPool) => number;
  /** Prefix of the node names (default the cloud): `<prefix>-<pool>-<index>`. */
  prefix?: string;
  /** Labels added to every node, e.g. one that keeps other stacks' workers off them. */
  extraLabels?: Record<string, string>;
  /**
   * Karpenter runs in the cluster and adds the nodes above minNodes itself: a pool it scales
   * (scaledByKarpenter) gets only its minNodes static nodes, possibly none.
   */
  karpenter?: boolean;
}

/**
 * The nodes a GKE or EKS stack's pools come up with, as that cloud registers them: the labels and
 * taints the program gives its node pools, the labels the cloud adds (node pool or node group,
 * Karpenter's NodePool and capacity type, instance type, zone, accelerator), capacity from the
 * machine table and allocatable after the platform's reservations (infra/hardware/machineShapes.ts, the
 * same numbers config validation fits workers against). Without `karpenter`, an EKS stack's nodes
 * above a pool's minNodes are labelled as its Karpenter's would be.
 */
export function cloudNodes(cfg: GkeFleetConfig | EksFleetConfig, opts: CloudNodesOptions = {}): FakeNodeSpec[] {
  const cloud = cfg.platform;
  const out: FakeNodeSpec[] = [];
  for (const pool of Object.values(cfg.pools)) {
    if (!pool.enabled) continue;
    const type = cloudMachine(pool.hardware)?.type;
    const shape = type ? machineShape(cloud, type) : undefined;
    if (!type || !shape) throw new Error(`pool ${pool.name}: no machine shape for ${type ?? "(no type)"} on ${cloud}`);
    const free = kubeletAllocatable(cloud, shape);
    const capacity: Record<string, string> = {
      cpu: String(shape.vcpu),
      memory: `${Math.round(shape.memoryGiB * 1024)}Mi`,
      pods: String(free.pods),
      "ephemeral-storage": `${pool.diskSizeGb}Gi`,
    };
    const alloc: Record<string, string> = {
      cpu: `${free.cpuMillis}m`,
      memory: `${free.memoryMiB}Mi`,
      pods: String(free.pods),
      "ephemeral-storage": `${allocatableDiskGi(pool.diskSizeGb)}Gi`,
    };
    if (shape.gpu) capacity[GPU_RESOURCE] = alloc[GPU_RESOURCE] = String(shape.gpu.count);
    const scaled = scaledByKarpenter(cfg, pool);
    const count = opts.karpenter && scaled ? pool.minNodes : (opts.count?.(pool) ?? Math.max(1, pool.minNodes));
    // Without a Karpenter in the cluster, an EKS Karpenter pool's nodes above minNodes are faked as its.
    const fakeKarpenter = cloud === "eks" && !opts.karpenter && scaled;
    for (let i = 0; i < count; i++) {
      const name = `${opts.prefix ?? cloud}-${pool.name}-${i}`;
      const zone = cloudZone(cfg, pool);
      const labels: Record<string, string> = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": type,
        "topology.kubernetes.io/region": cfg.cluster.region,
        "topology.kubernetes.io/zone": zone,
        ...(fakeKarpenter && i >= pool.minNodes ? eksKarpenterLabels(pool) : cloudLabels(cfg, pool)),
        ...pool.nodeLabels,
        ...opts.extraLabels,
        [KWOK_NODE_LABEL]: KWOK_NODE_VALUE,
      };
      out.push({ name, labels, taints: pool.nodeTaints.map((t) => ({ ...t })), capacity, allocatable: alloc });
    }
  }
  return out;
}

/** A pool's first zone: its own, the cluster's, or the region's first (GKE `-a`, EKS `a`). */
function cloudZone(cfg: GkeFleetConfig | EksFleetConfig, pool: ResolvedPool): string {
  if (cfg.platform === "gke") return pool.zones?.[0] ?? cfg.cluster.zones?.[0] ?? `${cfg.cluster.region}-a`;
  return `${cfg.cluster.region}a`;
}

/** Every zone a stack's nodes may be in: GKE's cluster and pool zones (or the region's first), EKS's one zone its nodes get here. */
export function cloudZones(cfg: GkeFleetConfig | EksFleetConfig): string[] {
  if (cfg.platform === "eks") return [`${cfg.cluster.region}a`];
  const pools = Object.values(cfg.pools).filter((p) => p.enabled);
  const zones = [...(cfg.cluster.zones ?? []), ...pools.flatMap((p) => p.zones ?? [])];
  return zones.length > 0 ? [...new Set(zones)] : [`${cfg.cluster.region}-a`];
}

/**
 * What GKE itself labels a node of this pool with (its node pool, machine family, Spot,
 * accelerator); a node the cluster autoscaler adds carries them too.
 */
export function gkeNodeLabels(pool: ResolvedPool): Record<string, string> {
  const machine = pool.hardware.machineType ?? "";
  return {
    "cloud.google.com/gke-nodepool": pool.name,
    "cloud.google.com/machine-family": machine.split("-")[0] ?? machine,
    ...(pool.spot ? { "cloud.google.com/gke-spot": "true" } : {}),
    ...(pool.hardware.acceleratorType ? { [GKE_ACCELERATOR_LABEL]: pool.hardware.acceleratorType } : {}),
  };
}

/** What the cloud itself labels a node of this pool's node pool or node group with. */
function cloudLabels(cfg: GkeFleetConfig | EksFleetConfig, pool: ResolvedPool): Record<string, string> {
  if (cfg.platform === "gke") return gkeNodeLabels(pool);
  return { "eks.amazonaws.com/nodegroup": pool.name, "eks.amazonaws.com/capacityType": pool.spot ? "SPOT" : "ON_DEMAND" };
}

/** The labels an EKS Karpenter node of this pool would carry, for a cluster without Karpenter in it. */
function eksKarpenterLabels(pool: ResolvedPool): Record<string, string> {
  return {
    "karpenter.sh/nodepool": nodePoolName(pool.name),
    "karpenter.sh/capacity-type": pool.spot ? "spot" : "on-demand",
    "karpenter.k8s.aws/ec2nodeclass": nodePoolName(pool.name),
    "karpenter.sh/registered": "true",
    "karpenter.sh/initialized": "true",
  };
}
