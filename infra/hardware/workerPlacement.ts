// Where a pool's workers may run and what each one reserves there: the nodeSelector, tolerations
// and requests the sie-cluster chart renders for the pool (it adds `nvidia.com/gpu: gpu.count` to
// the requests itself). Pure. The release values and the upgrade's capacity check both read it,
// so the check judges exactly what the scheduler will be asked to place.
import { GPU_RESOURCE, tolerationsFor, type NodeTaint, type PodToleration, type WorkerResources } from "./gpuProfiles.js";

/** What placement reads of a resolved pool (a ResolvedPool of config/configTypes.ts is one). */
export interface PlacedPool {
  nodeSelector: Readonly<Record<string, string>>;
  nodeTaints: readonly NodeTaint[];
  /** Chart `gpu.count`: 0 for cpu pools. */
  gpusPerWorker: number;
  resources: Pick<WorkerResources, "requests">;
}

export interface WorkerPlacement {
  nodeSelector: Record<string, string>;
  tolerations: PodToleration[];
  /** Kubernetes quantities per worker, the GPU resource included. */
  requests: Record<string, string>;
}

export function workerPlacement(pool: PlacedPool): WorkerPlacement {
  return {
    nodeSelector: { ...pool.nodeSelector },
    tolerations: tolerationsFor(pool.nodeTaints),
    requests: { ...pool.resources.requests, ...(pool.gpusPerWorker > 0 ? { [GPU_RESOURCE]: String(pool.gpusPerWorker) } : {}) },
  };
}
