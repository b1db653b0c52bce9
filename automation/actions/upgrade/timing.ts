// Rollout timing, the same on every platform: the stack's rollout.timeouts and, for how long a new
// pod may stay still starting or unscheduled, the chart's startup budgets (defaults.ts) unless
// rollout.timeouts.notReadySeconds caps it lower (as the local stack does for its instant workers).
// A started pod that is not Ready is judged by its own readiness probe (kube/podHealth.ts), under
// the same cap. Only the polling differs: on the embedded cluster kwok changes pods within
// milliseconds, so reading every 200 ms finds the outcome sooner without costing an API server anything.
import { NOT_READY_AFTER_MS, POLL_INTERVALS } from "../../../core/defaults.js";
import type { WaveKind } from "../../../core/types.js";

export interface RolloutTiming {
  timeoutMs: number;
  notReadyAfterMs: number;
  pollMs: number;
}

export interface TimingConfig {
  platform: string;
  rollout: { timeouts: { applySeconds: number; notReadySeconds?: number | undefined } };
}

export function rolloutTiming(config: TimingConfig, kind: WaveKind): RolloutTiming {
  const { applySeconds, notReadySeconds } = config.rollout.timeouts;
  const notReady = notReadySeconds !== undefined ? notReadySeconds * 1000 : undefined;
  return {
    timeoutMs: applySeconds * 1000,
    notReadyAfterMs: notReady ?? NOT_READY_AFTER_MS[kind],
    pollMs: config.platform === "local" ? 200 : POLL_INTERVALS.rolloutMs,
  };
}
