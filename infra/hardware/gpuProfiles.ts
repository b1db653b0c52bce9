// The one table that maps a GPU kind to cloud hardware, node labels/taints and the SIE chart's
// pool settings. Node pools (gke.ts, eks.ts, local) and Helm values (releaseValues.ts) both read
// it, so a worker's nodeSelector/tolerations cannot drift from the nodes it must land on. Which
// machine types carry which GPUs, and how many, comes from machineShapes.ts.
import { type GpuKind, GPU_KINDS } from "./gpuKinds.js";
import { type Cloud, gpuMachineTypes } from "./machineShapes.js";

export { GPU_KINDS, type GpuKind };

/** Where a pool's hardware is resolved: a cloud table, or no table (embedded cluster, existing cluster). */
export type HardwareTarget = "gke" | "eks" | "generic";

/** A Kubernetes node taint (Kubernetes spelling of the effect). */
export interface NodeTaint {
  key: string;
  value: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface PodToleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect: NodeTaint["effect"];
}

/**
 * Node label carrying the pool name on the nodes sie-fleet provisions; the workers' nodeSelector
 * uses it, so it must be unique per pool. The chart's own pool label on pods and workloads is
 * CHART_LABELS.pool (core/workloads.ts).
 */
export const NODE_POOL_LABEL = "sie-fleet/pool";
/** Node label carrying the GPU kind; the NVIDIA device plugin (EKS) is pinned to GPU kinds with it. */
export const GPU_LABEL = "sie-fleet/gpu";

/** The extended resource the NVIDIA device plugin advertises; the chart requests `gpu.count` of it per worker. */
export const GPU_RESOURCE = "nvidia.com/gpu";

/** GPU nodes are tainted so only pods that tolerate it (GPU workers, device plugins) land there. */
export const GPU_TAINT: NodeTaint = { key: GPU_RESOURCE, value: "present", effect: "NoSchedule" };

/** EKS AMI for GPU node groups; AL2023 needs the NVIDIA device plugin installed separately (eks.ts). */
const EKS_GPU_AMI = "AL2023_x86_64_NVIDIA";
const EKS_CPU_AMI = "AL2023_x86_64_STANDARD";

interface CloudTable {
  /** Machine/instance type → GPUs per node. `undefined` for cpu: any non-GPU type is allowed. */
  types?: Readonly<Record<string, number>>;
  /** Default type for a GPUs-per-node count (first key = default count). */
  defaults: Readonly<Record<number, string>>;
}

export interface GpuProfile {
  kind: GpuKind;
  /** `workers.pools.<name>.gpuType` in the sie-cluster chart (also the X-SIE-MACHINE-PROFILE value). */
  chartGpuType: string;
  /** Default `machineProfile` for pools of this kind. */
  machineProfile: string;
  gke: CloudTable & { acceleratorType?: string };
  eks: CloudTable & { amiType: string };
  /** Node labels shared by all pools of this kind (the pool label is added per pool). */
  labels: Readonly<Record<string, string>>;
  taints: readonly NodeTaint[];
  defaultDiskSizeGb: number;
  /**
   * Worker CPU/memory requests and limits (GPUs come from gpu.count): the sie-cluster chart's
   * defaults for its pool of this kind. The chart only has them for pools named after the kind;
   * a pool named anything else would render without resources (a template error), so sie-fleet
   * always sets them.
   */
  workerResources: Readonly<WorkerResources>;
}

export interface WorkerResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

/**
 * A kind's chart gpuType, machine profile and node label are its own name; GPU kinds' nodes carry
 * the GPU taint and a 200 GB disk, CPU nodes are untainted (gateway, config and kube-system pods
 * schedule there) with 100 GB.
 */
function profile(kind: GpuKind, gpu: boolean, p: Pick<GpuProfile, "gke" | "eks" | "workerResources">): GpuProfile {
  return {
    kind,
    chartGpuType: kind,
    machineProfile: kind,
    ...p,
    labels: { [GPU_LABEL]: kind },
    taints: gpu ? [GPU_TAINT] : [],
    defaultDiskSizeGb: gpu ? 200 : 100,
  };
}

// GPU machines per kind (and their GPU counts) are machineShapes.ts's; the defaults pick among them.
export const GPU_PROFILES: Readonly<Record<GpuKind, GpuProfile>> = {
  l4: profile("l4", true, {
    gke: {
      acceleratorType: "nvidia-l4",
      types: gpuMachineTypes("gke", "l4"),
      defaults: { 1: "g2-standard-8", 2: "g2-standard-24", 4: "g2-standard-48", 8: "g2-standard-96" },
    },
    eks: {
      amiType: EKS_GPU_AMI,
      types: gpuMachineTypes("eks", "l4"),
      // g6.xlarge (4 vCPU/16 GiB) cannot fit the chart's default L4 worker request (4 CPU/16Gi).
      defaults: { 1: "g6.2xlarge", 4: "g6.12xlarge", 8: "g6.48xlarge" },
    },
    workerResources: { requests: { cpu: "4", memory: "16Gi" }, limits: { cpu: "8", memory: "32Gi" } },
  }),
  "a100-40gb": profile("a100-40gb", true, {
    gke: {
      acceleratorType: "nvidia-tesla-a100",
      types: gpuMachineTypes("gke", "a100-40gb"),
      defaults: { 1: "a2-highgpu-1g", 2: "a2-highgpu-2g", 4: "a2-highgpu-4g", 8: "a2-highgpu-8g", 16: "a2-megagpu-16g" },
    },
    eks: { amiType: EKS_GPU_AMI, types: gpuMachineTypes("eks", "a100-40gb"), defaults: { 8: "p4d.24xlarge" } },
    workerResources: { requests: { cpu: "8", memory: "64Gi" }, limits: { cpu: "16", memory: "128Gi" } },
  }),
  "a100-80gb": profile("a100-80gb", true, {
    gke: {
      acceleratorType: "nvidia-a100-80gb",
      types: gpuMachineTypes("gke", "a100-80gb"),
      defaults: { 1: "a2-ultragpu-1g", 2: "a2-ultragpu-2g", 4: "a2-ultragpu-4g", 8: "a2-ultragpu-8g" },
    },
    eks: { amiType: EKS_GPU_AMI, types: gpuMachineTypes("eks", "a100-80gb"), defaults: { 8: "p4de.24xlarge" } },
    workerResources: { requests: { cpu: "8", memory: "128Gi" }, limits: { cpu: "16", memory: "256Gi" } },
  }),
  cpu: profile("cpu", false, {
    gke: { defaults: { 0: "n2-standard-8" } },
    eks: { amiType: EKS_CPU_AMI, defaults: { 0: "m6i.2xlarge" } },
    workerResources: { requests: { cpu: "2", memory: "6Gi" }, limits: { cpu: "4", memory: "12Gi" } },
  }),
};

/** Machine families that carry GPUs; a cpu pool on one of them would waste (and hide) GPUs. */
const GKE_GPU_FAMILY = /^(a2|a3|a4|g2|g4)-/;
const EKS_GPU_FAMILY = /^(g\d+[a-z]*|gr\d+|p\d+[a-z]*)\./;

export function isGpuKind(kind: GpuKind): boolean {
  return kind !== "cpu";
}

export interface HardwareRequest {
  gpu: GpuKind;
  gpusPerNode?: number | undefined;
  /** GKE machine type override. */
  machineType?: string | undefined;
  /** EKS instance type override. */
  instanceType?: string | undefined;
}

export interface ResolvedHardware {
  target: HardwareTarget;
  gpusPerNode: number;
  /** GKE only. */
  machineType?: string;
  /** GKE only, GPU kinds only. */
  acceleratorType?: string;
  /** EKS only. */
  instanceType?: string;
  /** EKS only. */
  amiType?: string;
}

/** A pool's machine on the cloud its hardware was resolved for: GKE's machineType or EKS's instanceType (none on generic). */
export function cloudMachine(hw: Pick<ResolvedHardware, "target" | "machineType" | "instanceType">): { cloud: Cloud; type: string } | undefined {
  if (hw.target === "gke" && hw.machineType !== undefined) return { cloud: "gke", type: hw.machineType };
  if (hw.target === "eks" && hw.instanceType !== undefined) return { cloud: "eks", type: hw.instanceType };
  return undefined;
}

export interface HardwareProblem {
  /** Pool field the problem is about. */
  field: "gpusPerNode" | "machineType" | "instanceType";
  message: string;
}

export type HardwareResult = { ok: true; value: ResolvedHardware } | { ok: false; problem: HardwareProblem };

/** Which GPU kind a machine/instance type belongs to, if any (for "you picked the wrong family" messages). */
function kindOfType(target: "gke" | "eks", type: string): GpuKind | undefined {
  for (const profile of Object.values(GPU_PROFILES)) {
    if (profile[target].types?.[type] !== undefined) return profile.kind;
  }
  return undefined;
}

function listCounts(table: CloudTable): string {
  return Object.keys(table.defaults).join(", ");
}

/**
 * Picks the machine/instance type for a pool, or explains why the combination does not exist.
 * An explicit type wins (and gpusPerNode must agree with it); otherwise gpusPerNode picks the default
 * type for that count; otherwise the profile's first default is used.
 */
export function resolveHardware(target: HardwareTarget, req: HardwareRequest): HardwareResult {
  const profile = GPU_PROFILES[req.gpu];
  const gpu = isGpuKind(req.gpu);
  if (!gpu && req.gpusPerNode !== undefined && req.gpusPerNode !== 0) {
    return fail("gpusPerNode", `a cpu pool has no GPUs (got ${req.gpusPerNode}); remove gpusPerNode or pick a GPU kind`);
  }
  if (target === "generic") {
    if (req.machineType !== undefined) return fail("machineType", "machineType is only used on platform gke; remove it");
    if (req.instanceType !== undefined) return fail("instanceType", "instanceType is only used on platform eks; remove it");
    return ok({ target, gpusPerNode: gpu ? (req.gpusPerNode ?? 1) : 0 });
  }
  const typeField = target === "gke" ? "machineType" : "instanceType";
  const otherField = target === "gke" ? "instanceType" : "machineType";
  if (req[otherField] !== undefined) {
    return fail(otherField, `${otherField} is not used on platform ${target}; use ${typeField} instead`);
  }
  const table = profile[target];
  const explicit = req[typeField];
  let type: string;
  let gpusPerNode: number;
  if (explicit !== undefined) {
    if (!gpu) {
      const family = target === "gke" ? GKE_GPU_FAMILY : EKS_GPU_FAMILY;
      if (family.test(explicit)) {
        const owner = kindOfType(target, explicit);
        return fail(
          typeField,
          `${typeField} ${explicit} is a GPU machine${owner ? ` (${owner})` : ""}; a cpu pool needs a plain machine type such as ${table.defaults[0]}`,
        );
      }
      type = explicit;
      gpusPerNode = 0;
    } else {
      const count = table.types?.[explicit];
      if (count === undefined) {
        const owner = kindOfType(target, explicit);
        const known = Object.keys(table.types ?? {}).join(", ");
        return fail(
          typeField,
          owner
            ? `${typeField} ${explicit} carries ${owner} GPUs, not ${req.gpu}; use one of ${known} or remove ${typeField}`
            : `${typeField} ${explicit} is not a known ${req.gpu} machine on ${target}; use one of ${known} or remove ${typeField}`,
        );
      }
      if (req.gpusPerNode !== undefined && req.gpusPerNode !== count) {
        return fail("gpusPerNode", `${explicit} has ${count} GPU(s) per node, not ${req.gpusPerNode}; set gpusPerNode: ${count} or remove it`);
      }
      type = explicit;
      gpusPerNode = count;
    }
  } else {
    const count = gpu ? (req.gpusPerNode ?? Number(Object.keys(table.defaults)[0])) : 0;
    const picked = table.defaults[count];
    if (picked === undefined) {
      return fail("gpusPerNode", `${target} offers ${req.gpu} nodes with ${listCounts(table)} GPU(s), not ${count}; pick one of those`);
    }
    type = picked;
    gpusPerNode = count;
  }
  if (target === "gke") {
    return ok({ target, gpusPerNode, machineType: type, ...(profile.gke.acceleratorType && gpu ? { acceleratorType: profile.gke.acceleratorType } : {}) });
  }
  return ok({ target, gpusPerNode, instanceType: type, amiType: profile.eks.amiType });
}

function ok(value: ResolvedHardware): HardwareResult {
  return { ok: true, value };
}

function fail(field: HardwareProblem["field"], message: string): HardwareResult {
  return { ok: false, problem: { field, message } };
}

/**
 * The GPU's accelerator name, GKE's accelerator type (e.g. nvidia-l4, nvidia-tesla-a100); undefined
 * for cpu. Cluster Autoscaler's AWS provider names GPUs the same way in its accelerator label.
 */
export function acceleratorName(kind: GpuKind): string | undefined {
  return isGpuKind(kind) ? GPU_PROFILES[kind].gke.acceleratorType : undefined;
}

/** Labels every node of a pool carries. The workers' nodeSelector is a subset of these. */
export function nodeLabels(poolName: string, kind: GpuKind): Record<string, string> {
  return { ...GPU_PROFILES[kind].labels, [NODE_POOL_LABEL]: poolName };
}

export function nodeTaints(kind: GpuKind): NodeTaint[] {
  return GPU_PROFILES[kind].taints.map((t) => ({ ...t }));
}

/** Tolerations that let a worker onto nodes with these taints (any value of the key). */
export function tolerationsFor(taints: readonly NodeTaint[]): PodToleration[] {
  return taints.map((t) => ({ key: t.key, operator: "Exists", effect: t.effect }));
}

const CLOUD_EFFECT: Record<NodeTaint["effect"], string> = {
  NoSchedule: "NO_SCHEDULE",
  PreferNoSchedule: "PREFER_NO_SCHEDULE",
  NoExecute: "NO_EXECUTE",
};

/** GKE and EKS both spell taint effects in SCREAMING_SNAKE_CASE. */
export function cloudTaint(t: NodeTaint): { key: string; value: string; effect: string } {
  return { key: t.key, value: t.value, effect: CLOUD_EFFECT[t.effect] };
}
