// Rollout timing. Pods on the embedded cluster's kwok nodes start in a fraction of a second, so the
// local platform uses short budgets; real clusters get the stack's rollout.timeouts and, for how
// long a new pod may stay unready, the chart's probe budgets (defaults.ts) unless
// rollout.timeouts.notReadySeconds says otherwise (e.g. for workers known to start fast).
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
  if (config.platform === "local") return { timeoutMs: 90_000, notReadyAfterMs: notReady ?? 15_000, pollMs: 200 };
  return {
    timeoutMs: applySeconds * 1000,
    notReadyAfterMs: notReady ?? NOT_READY_AFTER_MS[kind],
    pollMs: POLL_INTERVALS.rolloutMs,
  };
}
