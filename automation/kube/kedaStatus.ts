/**
 * What the KEDA operator says about a ScaledObject, read from its status: the Ready and Fallback
 * conditions and the per-trigger health. One reading for every judge of it (the upgrade's
 * preflight, the verification suite's `keda` check, `status`), each deciding on its own what the
 * state means at its point of a run.
 *
 * Status as KEDA writes it: `conditions` (Ready, Active, Fallback, Paused; all initialised to
 * Unknown on the operator's first reconcile, so a ScaledObject without any has never been seen by
 * an operator) and `health`, keyed by metric name (`s0-prometheus`, …), `{status: Happy|Failing,
 * numberOfFailures}` counting consecutive failed reads of that trigger's metric.
 */
import { isNotFound, type KubeApi, type KubeObjectLike } from "./api.js";
import { pauseAnnotations, SCALED_OBJECTS } from "./keda.js";

export interface KedaCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** A trigger whose metric KEDA failed to read on its latest polls. */
// Type aliases, not interfaces: the states go into gate evidence, which must be plain JSON.
export type FailingTrigger = {
  /** The metric name KEDA keys `status.health` by, e.g. `s1-prometheus`. */
  metric: string;
  failures: number;
};

export type ScaledObjectState = {
  name: string;
  /** spec.scaleTargetRef.name. */
  target: string;
  /** Ready condition status: True, False or Unknown (also when absent). */
  ready: string;
  readyReason?: string;
  readyMessage?: string;
  /** Fallback condition status: True, False or Unknown (also when absent). */
  fallback: string;
  fallbackReason?: string;
  fallbackMessage?: string;
  /** False when the status holds no condition at all: no KEDA operator has reconciled it. */
  reconciled: boolean;
  /** Triggers whose `status.health` entry is Failing. */
  failing: FailingTrigger[];
  pausedReplicas: string | null;
  paused: string | null;
};

/** The status conditions that carry a type. */
export function scaledObjectConditions(so: KubeObjectLike): KedaCondition[] {
  const raw = so.status?.["conditions"];
  return (Array.isArray(raw) ? (raw as KedaCondition[]) : []).filter((c) => c?.type);
}

function scaleTargetName(so: KubeObjectLike): string | undefined {
  return ((so.spec?.["scaleTargetRef"] ?? {}) as { name?: string }).name;
}

function failingTriggers(so: KubeObjectLike): FailingTrigger[] {
  const health = (so.status?.["health"] ?? {}) as Record<string, { status?: string; numberOfFailures?: number } | undefined>;
  return Object.entries(health)
    .filter(([, h]) => h?.status === "Failing")
    .map(([metric, h]) => ({ metric, failures: h?.numberOfFailures ?? 0 }))
    .sort((a, b) => a.metric.localeCompare(b.metric));
}

export function describeScaledObject(so: KubeObjectLike): ScaledObjectState {
  const conditions = scaledObjectConditions(so);
  const get = (t: string): KedaCondition | undefined => conditions.find((c) => c.type === t);
  const ready = get("Ready");
  const fallback = get("Fallback");
  return {
    name: so.metadata?.name ?? "?",
    target: scaleTargetName(so) ?? "?",
    ready: ready?.status ?? "Unknown",
    ...(ready?.reason ? { readyReason: ready.reason } : {}),
    ...(ready?.message ? { readyMessage: ready.message } : {}),
    fallback: fallback?.status ?? "Unknown",
    ...(fallback?.reason ? { fallbackReason: fallback.reason } : {}),
    ...(fallback?.message ? { fallbackMessage: fallback.message } : {}),
    reconciled: conditions.length > 0,
    failing: failingTriggers(so),
    ...pauseAnnotations(so),
  };
}

export interface ReleaseScaledObjects {
  scaledObjects: ScaledObjectState[];
  /** The list got a 404: the cluster serves no keda.sh API (KEDA's CRDs are not installed). */
  kedaApiMissing: boolean;
}

/**
 * The ScaledObjects in `namespace` that scale one of `targets` (the release's workloads), by name.
 * A cluster without KEDA's API is reported, not thrown: callers judge it against what the stack expects.
 */
export async function readScaledObjects(kube: KubeApi, namespace: string, targets: ReadonlySet<string>): Promise<ReleaseScaledObjects> {
  let all: KubeObjectLike[];
  try {
    all = await kube.listCustomObjects(SCALED_OBJECTS, namespace);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return { scaledObjects: [], kedaApiMissing: true };
  }
  const scaledObjects = all
    .filter((so) => targets.has(scaleTargetName(so) ?? ""))
    .map(describeScaledObject)
    .sort((a, b) => a.name.localeCompare(b.name));
  return { scaledObjects, kedaApiMissing: false };
}
