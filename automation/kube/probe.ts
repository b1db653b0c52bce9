/**
 * Probing a pool KEDA scaled to zero: while the run holds KEDA frozen, the pool's ScaledObject
 * gets `paused-replicas` = the probe's count and its StatefulSet that many replicas (what KEDA
 * itself does with a paused count; without an operator, as on the embedded cluster, the patch is
 * what moves it), then both go back to the count the freeze recorded. The thaw later restores the
 * ScaledObject's annotations exactly as they were before the run.
 */
import { systemClock } from "../../core/clock.js";
import { KEDA } from "../../core/defaults.js";
import { isNotFound, type KubeApi } from "./api.js";
import { pauseAnnotations, SCALED_OBJECTS } from "./keda.js";
import { statefulSetPods } from "./pods.js";

export interface ProbeRecord {
  namespace: string;
  pool: string;
  statefulSet: string;
  /** The count to put back: what the pool ran, and KEDA was frozen at, before the probe. */
  replicas: number;
  /** Workers while probed. */
  probeReplicas: number;
  /** Its ScaledObject, frozen by this run. */
  scaledObject?: string;
}

export async function startProbe(kube: KubeApi, rec: ProbeRecord): Promise<void> {
  // The annotation first: an operator would otherwise scale the StatefulSet straight back.
  if (rec.scaledObject) await setPausedReplicas(kube, rec, rec.probeReplicas);
  await kube.mergePatchStatefulSet(rec.namespace, rec.statefulSet, { spec: { replicas: rec.probeReplicas } });
}

/**
 * Puts the count back. Idempotent, so a revert or `recover` may repeat it. `paused-replicas` is
 * reset only while it still holds the probe's count: once the run thawed KEDA it is not ours.
 */
export async function endProbe(kube: KubeApi, rec: ProbeRecord): Promise<void> {
  if (rec.scaledObject) {
    try {
      const so = await kube.getCustomObject(SCALED_OBJECTS, rec.namespace, rec.scaledObject);
      if (pauseAnnotations(so).pausedReplicas === String(rec.probeReplicas)) await setPausedReplicas(kube, rec, rec.replicas);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  try {
    await kube.mergePatchStatefulSet(rec.namespace, rec.statefulSet, { spec: { replicas: rec.replicas } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Waits until the StatefulSet has no more pods than `rec.replicas` (terminating ones included); false on timeout. */
export async function waitProbeEnded(kube: KubeApi, rec: ProbeRecord, opts: { timeoutMs: number; pollMs: number; signal?: AbortSignal }): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    let pods: number;
    try {
      const sts = await kube.getStatefulSet(rec.namespace, rec.statefulSet);
      pods = (await statefulSetPods(kube, rec.namespace, sts)).length;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
    if (pods <= rec.replicas) return true;
    if (Date.now() >= deadline) return false;
    await systemClock.sleep(opts.pollMs, opts.signal);
  }
}

function setPausedReplicas(kube: KubeApi, rec: ProbeRecord, count: number): Promise<unknown> {
  return kube.mergePatchCustomObject(SCALED_OBJECTS, rec.namespace, rec.scaledObject ?? "", {
    metadata: { annotations: { [KEDA.pausedReplicasAnnotation]: String(count) } },
  });
}
