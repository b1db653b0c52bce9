// Rollout timing per platform. Pods on the embedded cluster's kwok nodes start in a fraction of a second, so the local
// platform uses short budgets; real clusters get the stack's rollout.timeouts.applySeconds and the
// chart's probe budgets (defaults.ts).
import { NOT_READY_AFTER_MS, POLL_INTERVALS } from "../defaults.js";
import type { WaveKind } from "../types.js";

export interface RolloutTiming {
  timeoutMs: number;
  notReadyAfterMs: number;
  pollMs: number;
}

export function rolloutTiming(platform: string, kind: WaveKind, applySeconds: number): RolloutTiming {
  if (platform === "local") return { timeoutMs: 90_000, notReadyAfterMs: 15_000, pollMs: 200 };
  return {
    timeoutMs: applySeconds * 1000,
    notReadyAfterMs: NOT_READY_AFTER_MS[kind],
    pollMs: POLL_INTERVALS.rolloutMs,
  };
}
