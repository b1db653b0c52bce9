// The machine and instance types sie-fleet knows on GKE and EKS: vCPUs, memory, GPUs, and what a
// node of each type leaves for pods after the platform's own reservations. gpuProfiles.ts takes its
// GPU machine lists from here and config validation (poolFit.ts) checks worker requests against it,
// so the GPU count and the size of a type are written down once.
import type { GpuKind } from "./gpuKinds.js";

export type Cloud = "gke" | "eks";

export interface MachineShape {
  vcpu: number;
  /** GiB. GCP's "GB" for machine memory and disks is 2^30 bytes, so both clouds' numbers are GiB. */
  memoryGiB: number;
  /** The GPUs a node carries; absent for CPU machines. */
  gpu?: { kind: Exclude<GpuKind, "cpu">; count: number };
  /**
   * EKS: network interfaces and IPv4 addresses per interface on the default network card (the VPC
   * CNI's default secondary-IP mode), which set the node's max pods.
   */
  eni?: { interfaces: number; ipv4PerInterface: number };
}

const gke = (vcpu: number, memoryGiB: number, gpu?: MachineShape["gpu"]): MachineShape => ({ vcpu, memoryGiB, ...(gpu ? { gpu } : {}) });
const eks = (vcpu: number, memoryGiB: number, [interfaces, ipv4PerInterface]: [number, number], gpu?: MachineShape["gpu"]): MachineShape => ({
  vcpu,
  memoryGiB,
  eni: { interfaces, ipv4PerInterface },
  ...(gpu ? { gpu } : {}),
});
const l4 = (count: number) => ({ kind: "l4" as const, count });
const a100 = (count: number) => ({ kind: "a100-40gb" as const, count });
const a100x80 = (count: number) => ({ kind: "a100-80gb" as const, count });

/**
 * Sizes from the GCP machine-family pages (accelerator-optimized G2 and A2, general-purpose N2 and
 * E2) and the EC2 instance-type pages (G6, P4d/P4de, M6i, M5, C6i). ENI numbers are the EKS AMI's
 * (awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl: defaultMaxENIs,
 * ipv4AddressesPerInterface). Order within a GPU kind is the order error messages list them in.
 */
export const MACHINE_SHAPES: Readonly<Record<Cloud, Readonly<Record<string, MachineShape>>>> = {
  gke: {
    "g2-standard-4": gke(4, 16, l4(1)),
    "g2-standard-8": gke(8, 32, l4(1)),
    "g2-standard-12": gke(12, 48, l4(1)),
    "g2-standard-16": gke(16, 64, l4(1)),
    "g2-standard-32": gke(32, 128, l4(1)),
    "g2-standard-24": gke(24, 96, l4(2)),
    "g2-standard-48": gke(48, 192, l4(4)),
    "g2-standard-96": gke(96, 384, l4(8)),
    "a2-highgpu-1g": gke(12, 85, a100(1)),
    "a2-highgpu-2g": gke(24, 170, a100(2)),
    "a2-highgpu-4g": gke(48, 340, a100(4)),
    "a2-highgpu-8g": gke(96, 680, a100(8)),
    "a2-megagpu-16g": gke(96, 1360, a100(16)),
    "a2-ultragpu-1g": gke(12, 170, a100x80(1)),
    "a2-ultragpu-2g": gke(24, 340, a100x80(2)),
    "a2-ultragpu-4g": gke(48, 680, a100x80(4)),
    "a2-ultragpu-8g": gke(96, 1360, a100x80(8)),
    "n2-standard-2": gke(2, 8),
    "n2-standard-4": gke(4, 16),
    "n2-standard-8": gke(8, 32),
    "n2-standard-16": gke(16, 64),
    "n2-standard-32": gke(32, 128),
    "e2-standard-4": gke(4, 16),
    "e2-standard-8": gke(8, 32),
  },
  eks: {
    "g6.xlarge": eks(4, 16, [4, 15], l4(1)),
    "g6.2xlarge": eks(8, 32, [4, 15], l4(1)),
    "g6.4xlarge": eks(16, 64, [8, 30], l4(1)),
    "g6.8xlarge": eks(32, 128, [8, 30], l4(1)),
    "g6.16xlarge": eks(64, 256, [15, 50], l4(1)),
    "g6.12xlarge": eks(48, 192, [8, 30], l4(4)),
    "g6.24xlarge": eks(96, 384, [15, 50], l4(4)),
    "g6.48xlarge": eks(192, 768, [15, 50], l4(8)),
    "p4d.24xlarge": eks(96, 1152, [15, 50], a100(8)),
    "p4de.24xlarge": eks(96, 1152, [15, 50], a100x80(8)),
    "m6i.large": eks(2, 8, [3, 10]),
    "m6i.xlarge": eks(4, 16, [4, 15]),
    "m6i.2xlarge": eks(8, 32, [4, 15]),
    "m6i.4xlarge": eks(16, 64, [8, 30]),
    "m6i.8xlarge": eks(32, 128, [8, 30]),
    "m5.xlarge": eks(4, 16, [4, 15]),
    "m5.2xlarge": eks(8, 32, [4, 15]),
    "c6i.2xlarge": eks(8, 16, [4, 15]),
  },
};

export function machineShape(cloud: Cloud, type: string): MachineShape | undefined {
  return Object.hasOwn(MACHINE_SHAPES[cloud], type) ? MACHINE_SHAPES[cloud][type] : undefined;
}

/** Type → GPUs per node for one GPU kind, in table order (gpuProfiles.ts's machine lists). */
export function gpuMachineTypes(cloud: Cloud, kind: Exclude<GpuKind, "cpu">): Record<string, number> {
  return Object.fromEntries(Object.entries(MACHINE_SHAPES[cloud]).flatMap(([type, s]) => (s.gpu?.kind === kind ? [[type, s.gpu.count] as const] : [])));
}

/** The listed machines without GPUs, for "use one of …" hints. */
export function cpuMachineTypes(cloud: Cloud): string[] {
  return Object.entries(MACHINE_SHAPES[cloud])
    .filter(([, s]) => s.gpu === undefined)
    .map(([type]) => type);
}

// ---- what the platform keeps for itself ----

/** Sum of `rate × the part of amount inside each band`, bands given as [width, rate] from zero up. */
function tiered(amount: number, bands: readonly (readonly [number, number])[]): number {
  let rest = amount;
  let total = 0;
  for (const [width, rate] of bands) {
    const part = Math.min(rest, width);
    total += part * rate;
    rest -= part;
    if (rest <= 0) break;
  }
  return total;
}

/**
 * CPU cores the kubelet reserves (kube-reserved): 6% of the first core, 1% of the next, 0.5% of the
 * next 2, 0.25% of every core above 4. GKE: cloud.google.com/kubernetes-engine/docs/concepts/
 * plan-node-sizes ("Memory and CPU reservations"); EKS AL2023 AMIs use the same bands
 * (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go getCPUMillicoresToReserve).
 */
export function reservedCpu(vcpu: number): number {
  return tiered(vcpu, [
    [1, 0.06],
    [1, 0.01],
    [2, 0.005],
    [Number.POSITIVE_INFINITY, 0.0025],
  ]);
}

/** The kubelet's hard eviction threshold for memory on both platforms (memory.available<100Mi). */
export const EVICTION_HARD_MEMORY_MIB = 100;

/**
 * GKE's memory reservation in MiB, eviction threshold not included: 255 MiB below 1 GiB of memory,
 * else 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112 and 2% of
 * everything above 128 GiB (plan-node-sizes, "Memory and CPU reservations").
 */
export function gkeReservedMemoryMiB(memoryGiB: number): number {
  if (memoryGiB < 1) return 255;
  const gib = tiered(memoryGiB, [
    [4, 0.25],
    [4, 0.2],
    [8, 0.1],
    [112, 0.06],
    [Number.POSITIVE_INFINITY, 0.02],
  ]);
  return gib * 1024;
}

/** GKE Standard's default maximum Pods per node. */
export const GKE_MAX_PODS = 110;

/**
 * Max pods of an EKS node as the AL2023 AMI computes it: interfaces × (IPv4 per interface − 1) + 2
 * (nodeadm/internal/kubelet/eni_max_pods.go calculateStandardMaxPods; the EKS user guide's
 * max-pods-calculator example gives 29 for m5.large, 3 × (10 − 1) + 2).
 */
export function eksEniMaxPods(eni: NonNullable<MachineShape["eni"]>): number {
  return eni.interfaces * (eni.ipv4PerInterface - 1) + 2;
}

/**
 * Managed node groups cap max pods at 110 below 30 vCPUs and 250 otherwise (EKS user guide,
 * create-managed-node-group). The AMI computes its memory reservation from the uncapped ENI number.
 */
export function eksSchedulablePods(shape: MachineShape): number {
  const eniPods = shape.eni ? eksEniMaxPods(shape.eni) : GKE_MAX_PODS;
  return Math.min(eniPods, shape.vcpu < 30 ? 110 : 250);
}

/** EKS AL2023 kube-reserved memory in MiB: 255 + 11 per pod (nodeadm getMemoryMebibytesToReserve). */
export function eksReservedMemoryMiB(maxPods: number): number {
  return 255 + 11 * maxPods;
}

export interface NodeResources {
  /** Cores. */
  cpu: number;
  memoryGiB: number;
  pods: number;
}

/** What the kubelet reports as allocatable: capacity less kube-reserved and the memory eviction threshold. */
export function allocatable(cloud: Cloud, shape: MachineShape): NodeResources {
  const cpu = shape.vcpu - reservedCpu(shape.vcpu);
  if (cloud === "gke") {
    const reservedMiB = gkeReservedMemoryMiB(shape.memoryGiB) + EVICTION_HARD_MEMORY_MIB;
    return { cpu, memoryGiB: shape.memoryGiB - reservedMiB / 1024, pods: GKE_MAX_PODS };
  }
  const eniPods = shape.eni ? eksEniMaxPods(shape.eni) : GKE_MAX_PODS;
  const reservedMiB = eksReservedMemoryMiB(eniPods) + EVICTION_HARD_MEMORY_MIB;
  return { cpu, memoryGiB: shape.memoryGiB - reservedMiB / 1024, pods: eksSchedulablePods(shape) };
}

/**
 * An assumed allowance for the DaemonSets every node runs besides the workers: kube-proxy, the CNI
 * (aws-node / GKE's netd), the NVIDIA device plugin, the CSI node driver, logging and metrics agents,
 * the chart's image pre-pull pod (1m / 8Mi). Their requests usually add up to a few hundred
 * millicores and well under 1 GiB; the rest of the margin stands for the memory the kernel keeps,
 * which puts a node's capacity a little below its nominal size (the reservations above are computed
 * from the nominal size).
 */
export const NODE_DAEMONS = { cpu: 0.5, memoryGiB: 1 } as const;

/** What one node leaves for SIE workers: allocatable less the node daemons. */
export function workerRoom(cloud: Cloud, shape: MachineShape): NodeResources {
  const a = allocatable(cloud, shape);
  return { cpu: a.cpu - NODE_DAEMONS.cpu, memoryGiB: a.memoryGiB - NODE_DAEMONS.memoryGiB, pods: a.pods };
}
