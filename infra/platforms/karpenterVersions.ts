// Which Karpenter releases support which Kubernetes minor versions (Karpenter's compatibility
// matrix). Config validation (karpenterRules.ts) uses it, with the default release
// (DEFAULT_KARPENTER_VERSION in configSchema.ts), to refuse a karpenter.version or cluster.version
// that would fail before AWS or Helm find out halfway through an update.
import * as semver from "semver";

/**
 * Oldest Karpenter release that supports each Kubernetes minor version. Rows that need a newer
 * Karpenter than the controller policy's minor say which Kubernetes versions sie-fleet's Karpenter
 * cannot run on.
 */
const MIN_KARPENTER_FOR_KUBERNETES: Readonly<Record<string, string>> = {
  "1.29": "0.34.0",
  "1.30": "0.37.0",
  "1.31": "1.0.5",
  "1.32": "1.2.0",
  "1.33": "1.5.0",
  "1.34": "1.6.0",
  "1.35": "1.9.0",
  "1.36": "1.13.0",
};

/** `1.8.8` → `1.8`. */
export function karpenterMinor(version: string): string {
  const v = semver.coerce(version);
  return v ? `${v.major}.${v.minor}` : version;
}

/** The oldest Karpenter release for `kubernetes` when `karpenter` is older than that; otherwise undefined. */
export function karpenterTooOld(karpenter: string, kubernetes: string): string | undefined {
  const min = MIN_KARPENTER_FOR_KUBERNETES[kubernetes];
  const v = semver.valid(semver.coerce(karpenter));
  if (!min || !v) return undefined;
  return semver.lt(v, min) ? min : undefined;
}

/** The newest Kubernetes minor in the table that `karpenter` supports. */
export function newestKubernetesFor(karpenter: string): string | undefined {
  const v = semver.valid(semver.coerce(karpenter));
  if (!v) return undefined;
  const supported = Object.entries(MIN_KARPENTER_FOR_KUBERNETES).filter(([, min]) => semver.gte(v, min));
  return supported
    .map(([k]) => k)
    .sort((a, b) => semver.compare(`${a}.0`, `${b}.0`))
    .at(-1);
}
