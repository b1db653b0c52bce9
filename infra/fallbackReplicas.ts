// KEDA's fallback: the worker count a ScaledObject sets after its triggers failed
// failureThreshold times in a row (Prometheus down or unreachable). GPU workers are expensive and a
// failed scrape is no evidence of demand, so by default a pool falls back to its own minReplicas.
import type { Report } from "./configRules.js";
import type { AutoscalingConfig } from "./configSchema.js";
import { hasWorkers, type ResolvedPool } from "./configTypes.js";

/** autoscaling.fallbackReplicas when set (for every pool), else the pool's minReplicas. */
export function fallbackReplicasFor(autoscaling: Pick<AutoscalingConfig, "fallbackReplicas">, pool: Pick<ResolvedPool, "minReplicas">): number {
  return autoscaling.fallbackReplicas ?? pool.minReplicas;
}

/** An explicit fallback above a pool's maxReplicas would ask KEDA for workers the pool may never run. */
export function checkFallbackReplicas(autoscaling: Pick<AutoscalingConfig, "fallbackReplicas">, pools: ResolvedPool[], report: Report): void {
  const fallback = autoscaling.fallbackReplicas;
  if (fallback === undefined) return;
  const over = pools.filter((p) => hasWorkers(p) && fallback > p.maxReplicas);
  if (over.length === 0) return;
  report(
    ["autoscaling", "fallbackReplicas"],
    `${fallback} is above the maxReplicas of pool(s) ${over.map((p) => `${p.name} (${p.maxReplicas})`).join(", ")}`,
    `lower it to at most ${Math.min(...over.map((p) => p.maxReplicas))}, or remove it so each pool falls back to its minReplicas`,
  );
}
