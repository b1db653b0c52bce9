// The chart's model cache and the node's boot disk. Every worker mounts an emptyDir at /models whose
// sizeLimit is `workers.common.cacheStorageSize` (values.yaml: 300Gi; templates/worker-statefulset.yaml),
// one size for all pools. An emptyDir without a medium lives on the node's boot disk, beside the OS
// and the container images, and each worker on a node has its own: a node's workers can fill
// workersPerNode × the size. On gke and eks the disk is ours (diskSizeGb), so the caches must fit it.
import type { Report } from "../config/configReport.js";
import type { Platform } from "../config/configSchema.js";
import { hasWorkers, type ResolvedPool } from "../config/configTypes.js";
import { QUANTITY_HINT, bytesToGiB, quantityValue } from "../hardware/quantity.js";

/** values.yaml `workers.common.cacheStorageSize`. */
export const CHART_MODEL_CACHE_GIB = 300;

/**
 * The kubelet evicts pods when the boot disk's free space drops below 10% (nodefs.available<10%:
 * the EKS AL2023 AMI's evictionHard, nodeadm/internal/kubelet/config.go; the kubelet default, which
 * GKE keeps).
 */
export const DISK_EVICTION_FRACTION = 0.1;

/**
 * Assumed room the boot disk needs besides the caches: the OS (about 10 GiB), the worker image
 * twice while an upgrade's pre-pull brings the new one next to the running one (CUDA and PyTorch
 * images unpack to 10-15 GiB each), system and DaemonSet images, logs.
 */
export const OS_AND_IMAGES_GIB = 40;

/** sie-fleet does not size a cache below this: a worker would be evicted after a model or two. */
export const MIN_MODEL_CACHE_GIB = 10;

const CACHE_PATH = ["workers", "common", "cacheStorageSize"] as const;

/** GiB of a boot disk of `diskSizeGb` (GCE and EBS sizes are both 2^30 bytes a GB) left for model caches. */
export function cacheRoomGiB(diskSizeGb: number): number {
  return diskSizeGb * (1 - DISK_EVICTION_FRACTION) - OS_AND_IMAGES_GIB;
}

/** Boot disk size that leaves `cacheGiB` for the caches. */
function diskFor(cacheGiB: number): number {
  return Math.ceil((cacheGiB + OS_AND_IMAGES_GIB) / (1 - DISK_EVICTION_FRACTION));
}

function ownNodes(platform: Platform): boolean {
  return platform === "gke" || platform === "eks";
}

/** `workers.common.cacheStorageSize` as set in release.values, if it is. */
function configuredSize(values: Readonly<Record<string, unknown>>): unknown {
  let node: unknown = values;
  for (const key of CACHE_PATH) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The largest whole-GiB cache every pool's nodes hold for all their workers, at most the chart's default. */
export function defaultModelCacheGiB(pools: readonly ResolvedPool[]): number | undefined {
  const each = pools.filter(hasWorkers).map((p) => Math.floor(cacheRoomGiB(p.diskSizeGb) / p.workersPerNode));
  return each.length > 0 ? Math.min(CHART_MODEL_CACHE_GIB, ...each) : undefined;
}

/**
 * Chart values sie-fleet suggests under release.values: on gke/eks, a cache size the boot disks
 * hold (the chart's 300Gi does not fit sie-fleet's 200 GB GPU disks). release.values may set another.
 */
export function modelCacheValues(platform: Platform, pools: readonly ResolvedPool[]): Record<string, unknown> {
  const size = ownNodes(platform) ? defaultModelCacheGiB(pools) : undefined;
  return size === undefined ? {} : { workers: { common: { cacheStorageSize: `${size}Gi` } } };
}

function round1(n: number): string {
  return String(Math.floor(n * 10) / 10);
}

/** Every pool with workers on gke/eks must hold its workers' model caches on its boot disk. */
export function checkModelCache(platform: Platform, pools: readonly ResolvedPool[], values: Readonly<Record<string, unknown>>, report: Report): void {
  if (!ownNodes(platform)) return;
  const configured = configuredSize(values);
  let sizeGiB: number | undefined;
  if (configured !== undefined) {
    const bytes = typeof configured === "string" || typeof configured === "number" ? quantityValue(configured) : undefined;
    if (bytes === undefined || bytes <= 0) {
      report(["release", "values", ...CACHE_PATH], `${JSON.stringify(configured)} is not a Kubernetes quantity`, QUANTITY_HINT);
      return;
    }
    sizeGiB = bytesToGiB(bytes);
  }
  for (const pool of pools.filter(hasWorkers)) {
    const room = Math.max(0, cacheRoomGiB(pool.diskSizeGb));
    const n = pool.workersPerNode;
    const type = pool.hardware.machineType ?? pool.hardware.instanceType;
    const disk =
      `a ${pool.diskSizeGb} GB boot disk leaves ${round1(room)} GiB for model caches ` +
      `(after ${DISK_EVICTION_FRACTION * 100}% for the kubelet's eviction threshold and ${OS_AND_IMAGES_GIB} GiB for the OS and images)`;
    if (sizeGiB === undefined) {
      // sie-fleet picks the size (modelCacheValues); it only fails when the disk is too small for any.
      const each = Math.floor(room / n);
      if (each < MIN_MODEL_CACHE_GIB) {
        report(
          ["pools", pool.name, "diskSizeGb"],
          `${disk}: ${each} GiB for each of the ${n} worker(s) per ${type} node, below the ${MIN_MODEL_CACHE_GIB} GiB a model cache needs`,
          `raise pools.${pool.name}.diskSizeGb to at least ${diskFor(MIN_MODEL_CACHE_GIB * n)}`,
        );
      }
    } else if (sizeGiB * n > room) {
      report(
        ["pools", pool.name, "diskSizeGb"],
        `the model cache is an emptyDir on the boot disk of up to ${String(configured)} per worker (release.values.workers.common.cacheStorageSize); ` +
          `${n} worker(s) per ${type} node can fill ${round1(sizeGiB * n)} GiB, but ${disk}`,
        `raise pools.${pool.name}.diskSizeGb to at least ${diskFor(sizeGiB * n)}, or lower workers.common.cacheStorageSize to at most ${Math.floor(room / n)}Gi`,
      );
    }
  }
}
