/**
 * The fault table: which image tag suffix (or injected fault) makes an SIE pod misbehave, and how.
 * Every fault is defined here once; its two executors read it:
 *
 * - **pod** faults change what the pod's status becomes. kwok plays the kubelet on the fake nodes,
 *   so they are kwok Stages generated from this table (cluster/endpoints/kwokStages.ts).
 * - **request** faults change how the pod answers. Pods run no code here, so the endpoint server
 *   (cluster/endpoints) answers for them and applies these.
 *
 * A fault reaches a pod through its image tag (`v0.3.2-errors10`, or the worker's
 * `v0.3.2-errors10-cuda12-default`), through the pod annotation FAULT_ANNOTATION, or through a
 * scope (cluster/endpoints/faultScopes.ts).
 */
export const FAULTS = {
  crashloop: {
    suffix: "-crashloop",
    level: "pod",
    pod: "starts, exits (lastState terminated, exit code 1), then CrashLoopBackOff; restartCount grows every 10 s; never Ready",
    requests: "never routed (not Ready)",
  },
  pullerr: {
    suffix: "-pullerr",
    level: "pod",
    pod: "ErrImagePull, then ImagePullBackOff and back; phase stays Pending; never Running",
    requests: "never routed (not Ready)",
  },
  noready: {
    suffix: "-noready",
    level: "pod",
    pod: "Running, never Ready (worker /readyz → 503, /healthz → 200)",
    requests: "never routed (not Ready)",
  },
  "5xx": {
    suffix: "-5xx",
    level: "request",
    pod: "Running and Ready",
    requests: "every encode it serves → 500",
    failEvery: 1,
  },
  slow: {
    suffix: "-slow",
    level: "request",
    pod: "Running and Ready",
    requests: "200 after an extra 1500 ms",
    extraLatencyMs: 1500,
  },
  errors10: {
    suffix: "-errors10",
    level: "request",
    pod: "Running and Ready",
    requests: "every 10th encode it serves → 500 (exactly 10% per pod)",
    failEvery: 10,
  },
} as const;

export type FaultName = keyof typeof FAULTS;
export type PodFault = { [K in FaultName]: (typeof FAULTS)[K]["level"] extends "pod" ? K : never }[FaultName];

export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];
export const POD_FAULTS = FAULT_NAMES.filter((f): f is PodFault => FAULTS[f].level === "pod");

export const isFaultName = (v: unknown): v is FaultName => typeof v === "string" && (FAULT_NAMES as string[]).includes(v);
export const isPodFault = (f: FaultName | undefined): f is PodFault => f !== undefined && FAULTS[f].level === "pod";

/**
 * A fault forced on one pod: kwok reads it when the pod starts (pod faults), the endpoint server
 * on every request (request faults). It wins over the image tag.
 */
export const FAULT_ANNOTATION = "faults.sie-fleet.dev/inject";

/** Whether the `n`-th request (1-based) a pod with `fault` serves fails with a 500. */
export function failsRequest(fault: FaultName | undefined, n: number): boolean {
  const f = fault ? FAULTS[fault] : undefined;
  return f !== undefined && "failEvery" in f && n % f.failEvery === 0;
}

/** Extra latency a pod with `fault` adds to each request it serves. */
export function extraLatencyMs(fault: FaultName | undefined): number {
  const f = fault ? FAULTS[fault] : undefined;
  return f !== undefined && "extraLatencyMs" in f ? f.extraLatencyMs : 0;
}

export interface ParsedImage {
  /** Everything before the tag, e.g. `ghcr.io/superlinked/sie-server`. */
  repository: string;
  /** Full tag, e.g. `v0.3.2-errors10-cuda12-default` (`latest` when none). */
  tag: string;
  /** Tag without the chart's worker `-<platform>-<bundle>` suffix, e.g. `v0.3.2-errors10`. */
  baseTag: string;
  /** Worker platform and bundle when the tag carries them. */
  platform?: string;
  bundle?: string;
  /** The fault the tag asks for, if any. */
  fault?: FaultName;
  /** What the component reports in `X-SIE-Server-Version`: baseTag without a leading "v". */
  version: string;
}

/**
 * The chart builds worker tags as `<tag>-<platform>-<bundle>`; platforms seen in the chart are
 * cuda12 and cpu, and other accelerators follow the same naming. The kwok stages match the same
 * tail, so it is written once here.
 */
export const WORKER_TAG_TAIL = "-(cuda[0-9]*|cpu|rocm[0-9]*|xpu|neuron)-([a-z0-9][a-z0-9._]*)";
const WORKER_SUFFIX = new RegExp(`^(.+?)${WORKER_TAG_TAIL}$`);

export function parseImage(image: string): ParsedImage {
  const at = image.indexOf("@");
  const ref = at >= 0 ? image.slice(0, at) : image;
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const hasTag = colon > slash;
  const repository = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : "latest";
  const m = WORKER_SUFFIX.exec(tag);
  const baseTag = m ? m[1]! : tag;
  const fault = FAULT_NAMES.find((f) => baseTag.endsWith(FAULTS[f].suffix));
  return {
    repository,
    tag,
    baseTag,
    ...(m ? { platform: m[2]!, bundle: m[3]! } : {}),
    ...(fault ? { fault } : {}),
    version: normalizeVersion(baseTag),
  };
}

/** `v0.3.2` and `0.3.2` are the same version; components report the form without "v". */
export function normalizeVersion(v: string): string {
  return v.replace(/^v(?=\d)/, "");
}
