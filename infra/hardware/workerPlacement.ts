// Where a pool's workers may run and what each one reserves there: the nodeSelector, tolerations
// and requests the sie-cluster chart renders for the pool (it adds `nvidia.com/gpu: gpu.count` to
// the requests itself). Pure. The release values and the upgrade's capacity check both read it,
// so the check judges exactly what the scheduler will be asked to place.
import type { ResolvedPool } from "../config/configTypes.js";
import { GPU_RESOURCE, tolerationsFor, type PodToleration } from "./gpuProfiles.js";

export interface WorkerPlacement {
  nodeSelector: Record<string, string>;
  tolerations: PodToleration[];
  /** Kubernetes quantities per worker, the GPU resource included. */
  requests: Record<string, string>;
}

export function workerPlacement(pool: ResolvedPool): WorkerPlacement {
  return {
    nodeSelector: { ...pool.nodeSelector },
    tolerations: tolerationsFor(pool.nodeTaints),
    requests: { ...pool.resources.requests, ...(pool.gpusPerWorker > 0 ? { [GPU_RESOURCE]: String(pool.gpusPerWorker) } : {}) },
  };
}
