// Rollout timing, the same on every platform: the stack's rollout.timeouts and, for how long a new
// pod may stay unready, the chart's probe budgets (defaults.ts) unless rollout.timeouts.notReadySeconds
// says otherwise (e.g. for workers known to start fast, as the local stack's do). Only the polling
// differs: on the embedded cluster kwok changes pods within milliseconds, so reading every 200 ms
// finds the outcome sooner without costing an API server anything.
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
