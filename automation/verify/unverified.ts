// Why a run ended succeeded-unverified, in one line: what no gate looked at.
import { describeSkipped, type SkippedCheck } from "./skipped.js";

export function unverifiedReason(r: { unverifiedPools?: readonly string[]; skippedChecks?: readonly SkippedCheck[] }): string {
  return [
    ...(r.unverifiedPools?.length ? [`unverified pools: ${r.unverifiedPools.join(", ")} (0 workers; rollout.zeroReplicaPools: report)`] : []),
    ...(r.skippedChecks?.length ? [`checks left out: ${describeSkipped(r.skippedChecks)}`] : []),
  ].join("; ");
}
