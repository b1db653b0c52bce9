// The least time an upgrade can take when its workers are slow to start, from the wave plan
// alone: pool waves run one after the other (automation/plan/waves.ts), the pools of one wave
// start together, and a pool wave cannot end before its new worker passed its startup probe and,
// when metric gates run in that wave, before their observation window is over. Pure, so P8's
// ratio "measured / bound" rests on arithmetic that can be checked on its own.
import { phaseChecks, resolveGates } from "../automation/verify/index.js";

export interface LowerBoundInput {
  /** Worker pools of the stack, one worker each (a StatefulSet replaces its pods one at a time). */
  pools: number;
  /** rollout.batchSize: pools per wave after the canary. */
  batchSize: number;
  /** How long a new worker takes from container start to a passing startup probe. */
  startSeconds: number;
  /** Observation window the metric gates wait out in every pool wave; 0 when they do not run. */
  windowSeconds: number;
}

export interface LowerBound {
  ms: number;
  /** The canary plus ⌈(pools - 1) / batchSize⌉ waves. */
  poolWaves: number;
  startsMs: number;
  windowsMs: number;
}

/**
 * canary start + ⌈(pools - 1) / batchSize⌉ × start + one observation window per pool wave. The
 * gateway and config waves count 0: their pods start without a delay, so what they take is
 * measured overhead, not a floor. Everything else an upgrade does (preview, apply, the other
 * gates, the final verification) is left out too, which keeps the bound a true lower bound.
 */
export function upgradeLowerBound(i: LowerBoundInput): LowerBound {
  if (!Number.isInteger(i.pools) || i.pools < 1) throw new RangeError(`pools must be a whole number ≥ 1, got ${i.pools}`);
  if (!Number.isInteger(i.batchSize) || i.batchSize < 1) throw new RangeError(`batchSize must be a whole number ≥ 1, got ${i.batchSize}`);
  if (!(i.startSeconds >= 0) || !(i.windowSeconds >= 0))
    throw new RangeError(`start and window seconds must be ≥ 0, got ${i.startSeconds} and ${i.windowSeconds}`);
  const poolWaves = 1 + Math.ceil((i.pools - 1) / i.batchSize);
  const startsMs = poolWaves * i.startSeconds * 1000;
  const windowsMs = poolWaves * i.windowSeconds * 1000;
  return { ms: startsMs + windowsMs, poolWaves, startsMs, windowsMs };
}

/**
 * The observation window a pool wave of this stack config waits out: rollout.gates.observationWindowSeconds
 * when its wave checks include metric-gates (after rollout.gates.skip) and a Prometheus is named
 * (monitoring.prometheus or rollout.gates.prometheusUrl in the file, or `prometheusFromEnv`, which
 * is SIE_FLEET_PROMETHEUS_URL for a bench stack started with `prometheus: true`); else 0. A window
 * shorter than the metric gate takes in fact (its first sample waits one rate window) keeps the
 * bound below the truth.
 */
export function metricWindowSeconds(config: Record<string, any>, prometheusFromEnv = false): number {
  const gates = resolveGates(config["sie-fleet:rollout"]?.gates);
  const prometheus = prometheusFromEnv || !!config["sie-fleet:monitoring"]?.prometheus || gates.prometheusUrl !== undefined;
  return prometheus && phaseChecks(gates, "wave").includes("metric-gates") ? gates.observationWindowSeconds : 0;
}
