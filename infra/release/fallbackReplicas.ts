// KEDA's fallback: what a ScaledObject does once its triggers failed failureThreshold polls in a
// row (Prometheus down or unreachable). With the default behaviour (static) KEDA SETS the target
// to fallback.replicas, so a serving pool of 15 workers would drop to its minReplicas, or to zero,
// in the middle of an outage. sie-fleet therefore renders a fallback only with
// `behavior: currentReplicasIfHigher` (KEDA 2.17+): the pool keeps max(current count, replicas),
// so an outage never scales a pool down, and with replicas = minReplicas it starts no worker that
// demand did not ask for. Where that behaviour is not known to exist (KEDA older than 2.17, or a
// KEDA this stack does not install, whose version sie-fleet cannot know: keda.version is only
// what the stack would install), the fallback is left out: then KEDA propagates no metric while
// the triggers fail and the HPA keeps the current count, which is the same outcome.
import type { Report } from "../config/configReport.js";
import type { AutoscalingConfig, KedaConfig } from "../config/configSchema.js";
import { hasWorkers, type ResolvedPool } from "../config/configTypes.js";
import { kedaHasFallbackBehavior } from "./kedaVersions.js";

/** Failed polls in a row before KEDA falls back. */
const FAILURE_THRESHOLD = 3;

export interface KedaFallback {
  failureThreshold: number;
  replicas: number;
  behavior: "currentReplicasIfHigher";
}

type KedaVersionInfo = Pick<KedaConfig, "install" | "version">;

/** True when the stack installs a KEDA that honours fallback.behavior. */
export function fallbackBehaviorKnown(keda: KedaVersionInfo): boolean {
  return keda.install && kedaHasFallbackBehavior(keda.version);
}

/** autoscaling.fallbackReplicas when set (for every pool), else the pool's minReplicas. */
export function fallbackReplicasFor(autoscaling: Pick<AutoscalingConfig, "fallbackReplicas">, pool: Pick<ResolvedPool, "minReplicas">): number {
  return autoscaling.fallbackReplicas ?? pool.minReplicas;
}

/** A pool's ScaledObject `fallback`, or undefined to leave it out (see the top of this file). */
export function fallbackFor(
  cfg: { autoscaling: Pick<AutoscalingConfig, "fallbackReplicas">; keda: KedaVersionInfo },
  pool: Pick<ResolvedPool, "minReplicas">,
): KedaFallback | undefined {
  if (!fallbackBehaviorKnown(cfg.keda)) return undefined;
  const replicas = fallbackReplicasFor(cfg.autoscaling, pool);
  // KEDA's scale executor holds the count only for a fallback with replicas > 0; one of 0 falls
  // through to its scale-to-zero path, so a pool at minReplicas 0 would be emptied after
  // cooldownPeriod. Without a fallback KEDA marks the triggers failed and keeps the count.
  if (replicas === 0) return undefined;
  return { failureThreshold: FAILURE_THRESHOLD, replicas, behavior: "currentReplicasIfHigher" };
}

/**
 * An explicit fallbackReplicas above a pool's maxReplicas would ask KEDA for workers the pool may
 * never run; with autoscaling on and no fallback rendered (keda undefined: its section did not
 * parse, reported there) it would silently do nothing.
 */
export function checkFallbackReplicas(
  autoscaling: Pick<AutoscalingConfig, "enabled" | "fallbackReplicas">,
  keda: KedaVersionInfo | undefined,
  pools: ResolvedPool[],
  report: Report,
): void {
  const fallback = autoscaling.fallbackReplicas;
  if (fallback === undefined) return;
  const over = pools.filter((p) => hasWorkers(p) && fallback > p.maxReplicas);
  if (over.length > 0) {
    report(
      ["autoscaling", "fallbackReplicas"],
      `${fallback} is above the maxReplicas of pool(s) ${over.map((p) => `${p.name} (${p.maxReplicas})`).join(", ")}`,
      `lower it to at most ${Math.min(...over.map((p) => p.maxReplicas))}, or remove it so each pool falls back to its minReplicas`,
    );
  }
  if (autoscaling.enabled && keda && !fallbackBehaviorKnown(keda)) {
    const why = keda.install
      ? `the KEDA this stack installs (keda.version ${keda.version}) predates 2.17, which added fallback.behavior`
      : "this stack does not install KEDA (keda.install: false), so whether it has fallback.behavior (KEDA 2.17+) is unknown";
    report(
      ["autoscaling", "fallbackReplicas"],
      `has no effect: ${why}, and without it KEDA's fallback would set every pool to ${fallback} workers during a Prometheus outage, scaling serving pools down; sie-fleet leaves the fallback out, so KEDA keeps each pool's current count`,
      "remove it, or install KEDA 2.17 or newer from this stack (keda.install: true with keda.version unset or at least 2.17.0)",
    );
  }
}
