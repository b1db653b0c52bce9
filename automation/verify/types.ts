// Types shared by the verification checks. Kept apart from checks.ts (the registry) so each check
// module can import them without an import cycle.
import type { z } from "zod";
import type { rolloutSchema, VerifyCheckName } from "../../infra/config/configSchema.js";
import type { Evidence, GateStatus, WaveSpec } from "../../core/types.js";
import type { KubeClient } from "../kube/index.js";
import type { ReleaseNames } from "../../core/workloads.js";
import type { PrometheusClient } from "./prometheus.js";
import type { Baseline } from "./baseline.js";

export type { VerifyCheckName };

/** `rollout.gates` after defaults (what a validated stack config holds). */
export type GatesConfig = z.output<typeof rolloutSchema>["gates"];
/** `rollout.gates` as written (every key optional). */
export type GatesInput = z.input<typeof rolloutSchema>["gates"];

/**
 * One attempt's verdict. "pending" means "not settled yet, ask again": the runner retries with
 * backoff and turns a pending that outlives its retries into a fail. `retryable` marks a fail
 * that may be transient (a refused connection), as opposed to a definite one (a 500, a
 * CrashLoopBackOff), which is never retried.
 */
export interface CheckOutcome {
  status: GateStatus | "pending";
  message: string;
  evidence: Evidence;
  retryable?: boolean;
}

export interface Check {
  /** Stable gate name, e.g. "images:StatefulSet/sie-worker-l4". */
  name: string;
  run(signal: AbortSignal): Promise<CheckOutcome>;
  /** Overrides the policy's per-attempt timeout (metric gates observe a whole window). */
  timeoutMs?: number;
  /** Overrides the policy's retries. */
  retries?: number;
  /** Checks of a later stage run only when no earlier one failed (0 = first). */
  stage?: number;
}

/** What is being verified: the phase, the release and where its endpoints answer. */
export interface VerifyTarget {
  phase: "wave" | "final";
  /** The wave just rolled out (phase "wave"). */
  wave?: WaveSpec;
  kube: KubeClient;
  names: ReleaseNames;
  gatewayUrl?: string;
  configUrl?: string;
  /** The release's image tag, e.g. "v0.3.2" (workers run "v0.3.2-<platform>-<bundle>"). */
  expectTag: string;
  /** Gateway/config tags when the stack sets release.gatewayTag/configTag apart from imageTag. */
  componentTags?: { gateway?: string; config?: string };
  /** autoscaling.enabled: each worker pool in scope must have its ScaledObject (the `keda` check). */
  autoscaling?: boolean;
}

/** What every check factory receives. */
export interface VerifyContext extends VerifyTarget {
  prometheus?: PrometheusClient;
  gates: GatesConfig;
  baseline?: Baseline;
  /** Running-but-not-Ready grace per wave kind (default NOT_READY_AFTER_MS). */
  notReadyAfterMs?: number;
  /** Encode requests per smoke test (default 10). */
  smokeRequests?: number;
}
