/**
 * Freezing KEDA during an upgrade. Each ScaledObject gets `autoscaling.keda.sh/paused-replicas`
 * set to its target's current replica count, so the autoscaler neither scales a pool mid-rollout
 * nor fights the partitions we set. Pools differ, so each is frozen at its own count.
 *
 * The freeze is split into plan (reads only) and apply so the caller can journal the prior
 * annotations before anything changes; thaw puts back exactly what was there.
 */
import { KEDA } from "../../core/defaults.js";
import { isNotFound, type KubeApi, type KubeObjectLike } from "./api.js";

export const SCALED_OBJECTS = { group: KEDA.group, version: KEDA.version, plural: KEDA.plural } as const;

export interface KedaFreezeEntry {
  /** The ScaledObject. */
  name: string;
  target: { kind: string; name: string };
  /** The count it is frozen at (the target's spec.replicas when planned). */
  replicas: number;
  /** Annotation values before the freeze; null = absent. */
  prior: { pausedReplicas: string | null; paused: string | null };
}

export interface KedaFreezeRecord {
  namespace: string;
  entries: KedaFreezeEntry[];
  /** ScaledObjects not frozen, and why (target missing, unsupported kind). */
  skipped: { name: string; reason: string }[];
}

/** Reads every ScaledObject and its target; changes nothing. */
export async function planKedaFreeze(kube: KubeApi, namespace: string): Promise<KedaFreezeRecord> {
  const all = await kube.listCustomObjects(SCALED_OBJECTS, namespace);
  const record: KedaFreezeRecord = { namespace, entries: [], skipped: [] };
  for (const so of [...all].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))) {
    const name = so.metadata?.name ?? "?";
    const ref = (so.spec?.["scaleTargetRef"] ?? {}) as { kind?: string; name?: string };
    // KEDA's default target kind is Deployment.
    const kind = ref.kind ?? "Deployment";
    if (!ref.name) {
      record.skipped.push({ name, reason: "spec.scaleTargetRef.name is empty" });
      continue;
    }
    let replicas: number | undefined;
    try {
      if (kind === "StatefulSet") replicas = (await kube.getStatefulSet(namespace, ref.name)).spec?.replicas ?? 1;
      else if (kind === "Deployment") replicas = (await kube.getDeployment(namespace, ref.name)).spec?.replicas ?? 1;
      else {
        record.skipped.push({ name, reason: `target kind ${kind} is not supported` });
        continue;
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      record.skipped.push({ name, reason: `target ${kind}/${ref.name} not found` });
      continue;
    }
    const annotations = so.metadata?.annotations ?? {};
    record.entries.push({
      name,
      target: { kind, name: ref.name },
      replicas,
      prior: {
        pausedReplicas: annotations[KEDA.pausedReplicasAnnotation] ?? null,
        paused: annotations[KEDA.pausedAnnotation] ?? null,
      },
    });
  }
  return record;
}

/** Sets paused-replicas on every planned ScaledObject. */
export async function applyKedaFreeze(kube: KubeApi, record: KedaFreezeRecord): Promise<void> {
  for (const e of record.entries) {
    await kube.mergePatchCustomObject(SCALED_OBJECTS, record.namespace, e.name, {
      metadata: { annotations: { [KEDA.pausedReplicasAnnotation]: String(e.replicas) } },
    });
  }
}

export interface ThawResult {
  restored: string[];
  /** ScaledObjects that no longer exist (deleted meanwhile); nothing to restore. */
  missing: string[];
}

/**
 * Restores paused-replicas exactly: removed where we added it, the old value where there was one.
 * Idempotent, so `recover` may call it after a crash at any point of freeze or thaw.
 */
export async function thawKeda(kube: KubeApi, record: KedaFreezeRecord): Promise<ThawResult> {
  const result: ThawResult = { restored: [], missing: [] };
  for (const e of record.entries) {
    try {
      await kube.mergePatchCustomObject(SCALED_OBJECTS, record.namespace, e.name, {
        // In a merge patch, null deletes the key.
        metadata: { annotations: { [KEDA.pausedReplicasAnnotation]: e.prior.pausedReplicas } },
      });
      result.restored.push(e.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.missing.push(e.name);
    }
  }
  return result;
}

/** The pause annotations currently on a ScaledObject, for status and tests. */
export function pauseAnnotations(so: KubeObjectLike): { pausedReplicas: string | null; paused: string | null } {
  const a = so.metadata?.annotations ?? {};
  return { pausedReplicas: a[KEDA.pausedReplicasAnnotation] ?? null, paused: a[KEDA.pausedAnnotation] ?? null };
}
