/**
 * How fast the simulated cluster moves. Everything time-based reads these, so tests run in
 * milliseconds and a demo can look like a real rollout.
 */
export interface SimTimings {
  /** Controller loop period. */
  tickMs: number;
  /** Scheduled → containers started (image pull + start), i.e. how long `ContainerCreating` lasts. */
  podStartMs: number;
  /** Started → Ready (first passing readiness probe). */
  podReadyMs: number;
  /** Graceful termination: how long a deleted pod stays `Terminating`. */
  podTerminateMs: number;
  /** One crash/back-off cycle of a `-crashloop` container (restartCount grows once per cycle). */
  crashLoopMs: number;
  /** How long a `-pullerr` container shows `ErrImagePull` before switching to `ImagePullBackOff`. */
  pullBackoffMs: number;
  /**
   * Real milliseconds per simulated second, for durations given in seconds by the API
   * (`progressDeadlineSeconds`, KEDA `pollingInterval`/`cooldownPeriod`).
   */
  simSecondMs: number;
  /** Base encode latency and random jitter added on top. */
  encodeLatencyMs: number;
  encodeJitterMs: number;
  /** Extra encode latency of a `-slow` worker. */
  slowExtraMs: number;
  /** Debounce of state.json writes. */
  persistDebounceMs: number;
}

export type ProfileName = "fast" | "demo";

export const PROFILES: Record<ProfileName, SimTimings> = {
  fast: {
    tickMs: 50,
    podStartMs: 300,
    podReadyMs: 300,
    podTerminateMs: 100,
    crashLoopMs: 400,
    pullBackoffMs: 300,
    simSecondMs: 50,
    encodeLatencyMs: 2,
    encodeJitterMs: 3,
    slowExtraMs: 1500,
    persistDebounceMs: 100,
  },
  demo: {
    tickMs: 200,
    podStartMs: 4000,
    podReadyMs: 5000,
    podTerminateMs: 3000,
    crashLoopMs: 6000,
    pullBackoffMs: 5000,
    simSecondMs: 1000,
    encodeLatencyMs: 25,
    encodeJitterMs: 20,
    slowExtraMs: 1500,
    persistDebounceMs: 500,
  },
};

export function resolveTimings(profile: ProfileName = "fast", overrides: Partial<SimTimings> = {}): SimTimings {
  return { ...PROFILES[profile], ...overrides };
}
