// Checks a run left out, and who left them out: a leaf module, so the result types
// (actions/results.ts) can name them without importing the check registry.
import type { VerifyCheckName } from "../../infra/config/configSchema.js";

/** Who left a check out of a run: the stack's rollout.gates.skip, --skip-check, or --force past a check that could not look. */
export const SKIP_SOURCES = ["config", "flag", "force"] as const;
export type SkipSource = (typeof SKIP_SOURCES)[number];

/** A type, not an interface: it is journaled as JSON as it is. */
export type SkippedCheck = {
  name: VerifyCheckName;
  source: SkipSource;
};

const SOURCE_TEXT: Record<SkipSource, string> = { config: "rollout.gates.skip", flag: "--skip-check", force: "--force" };

/** `prometheus, metric-gates (--skip-check); keda (rollout.gates.skip)`. */
export function describeSkipped(skipped: readonly SkippedCheck[]): string {
  return SKIP_SOURCES.map((source) => [skipped.filter((s) => s.source === source).map((s) => s.name), source] as const)
    .filter(([names]) => names.length > 0)
    .map(([names, source]) => `${names.join(", ")} (${SOURCE_TEXT[source]})`)
    .join("; ");
}
