// Types shared by the verification checks, and the shape of the pre-upgrade Baseline they compare
// with. Nothing here imports a check module, the registry (checks.ts) or baseline.ts, so every one
// of them can import these without an import cycle.
import type { z } from "zod";
import type { rolloutSchema, VerifyCheckName } from "../../infra/config/configSchema.js";
import type { Evidence, GateStatus, WaveSpec } from "../../core/types.js";
import type { KubeClient } from "../kube/index.js";
import type { ReleaseNames } from "../../core/workloads.js";
import type { PrometheusClient } from "./prometheus.js";

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

/** The components whose sample gates time requests sent straight to them (endpointSample.ts). */
export const SAMPLED_COMPONENTS = ["gateway", "config"] as const;
export type SampledComponent = (typeof SAMPLED_COMPONENTS)[number];

/** One pool's samples before the upgrade, which its metric gates compare the canary with. */
export interface PoolBaseline {
  /** Per-interval samples over the baseline window, only where the pool had enough requests. */
  errorRatio: number[];
  p95Ms: number[];
  /** Requests in the window (sum of the per-step increases). */
  requests: number;
  /** Why the baseline is empty or partial (query error), if so. */
  error?: string;
}

/** A component's sample before the release was applied: what its p95 bound is relative to. */
export interface EndpointBaseline {
  url: string;
  requests: number;
  errors: number;
  p95Ms?: number;
  /** Why there is no p95 (the component did not answer, no model to encode with). */
  error?: string;
}

/** What captureBaseline (baseline.ts) records. JSON-serialisable, so the engine can journal it. */
export interface Baseline {
  capturedAt: string;
  /** Where the pools' samples came from; absent when no Prometheus is configured (pools is then empty). */
  prometheusUrl?: string;
  namespace: string;
  windowSeconds: number;
  intervalSeconds: number;
  rateWindowSeconds: number;
  pools: Record<string, PoolBaseline>;
  /** The gateway's and config service's sample, when their sample gate runs in the waves. */
  endpoints?: Partial<Record<SampledComponent, EndpointBaseline>>;
}

/** What every check factory receives. */
export interface VerifyContext extends VerifyTarget {
  prometheus?: PrometheusClient;
  gates: GatesConfig;
  baseline?: Baseline;
  /** Running-but-not-Ready grace per wave kind (default NOT_READY_AFTER_MS). */
  notReadyAfterMs?: number;
  /** Encode requests per smoke test (default SMOKE_REQUESTS, core/defaults.ts). */
  smokeRequests?: number;
}
