/**
 * Fault injection by image tag: the single source of truth for which tag suffix makes a
 * simulated container misbehave, and how. sim/README.md renders this same table.
 */
export const FAULTS = {
  crashloop: {
    suffix: "-crashloop",
    pod: "starts, exits, then CrashLoopBackOff; restartCount grows; never Ready",
    encode: "never routed (not Ready)",
  },
  pullerr: {
    suffix: "-pullerr",
    pod: "ErrImagePull, then ImagePullBackOff; phase stays Pending; never Running",
    encode: "never routed (not Ready)",
  },
  noready: {
    suffix: "-noready",
    pod: "Running, never Ready (worker /readyz → 503)",
    encode: "never routed (not Ready)",
  },
  "5xx": {
    suffix: "-5xx",
    pod: "Running and Ready",
    encode: "every encode routed to it returns 500",
  },
  slow: {
    suffix: "-slow",
    pod: "Running and Ready",
    encode: "200, latency + slowExtraMs (default 1500 ms)",
  },
  errors10: {
    suffix: "-errors10",
    pod: "Running and Ready",
    encode: "10% of encodes routed to it return 500",
  },
} as const;

export type FaultName = keyof typeof FAULTS;

export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

/** Error rate of the `-errors10` fault. */
export const ERRORS10_RATE = 0.1;

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

// The chart builds worker tags as `<tag>-<platform>-<bundle>`; platforms seen in the chart are
// cuda12 and cpu, and other accelerators follow the same naming.
const WORKER_SUFFIX = /^(.+?)-(cuda\d*|cpu|rocm\d*|xpu|neuron)-([a-z0-9][a-z0-9._]*)$/;

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
    version: baseTag.replace(/^v(?=\d)/, ""),
  };
}
