// Which Karpenter releases support which Kubernetes minor versions (Karpenter's compatibility
// matrix). Used to refuse a karpenter.version that is too old for cluster.version before AWS or
// Helm find out halfway through an update.
import * as semver from "semver";

/** Oldest Karpenter release that supports each Kubernetes minor version. */
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

/** The oldest Karpenter release for `kubernetes` when `karpenter` is older than that; otherwise undefined. */
export function karpenterTooOld(karpenter: string, kubernetes: string): string | undefined {
  const min = MIN_KARPENTER_FOR_KUBERNETES[kubernetes];
  const v = semver.valid(semver.coerce(karpenter));
  if (!min || !v) return undefined;
  return semver.lt(v, min) ? min : undefined;
}
