// The capacity check's result as runs, journals and `--json` carry it. Pure declarations.
import type { PoolCapacity } from "./poolCapacity.js";

export interface CapacityReport {
  /** False when the nodes could not be read (no RBAC to list nodes or pods): the run went on unchecked. */
  checked: boolean;
  /** One verdict per deployed pool with workers. */
  pools: PoolCapacity[];
  /** Some pool is short: the run is refused unless forced. */
  short: boolean;
  /** `--force` overrode a shortage. */
  forced: boolean;
  /** Why the check could not run (checked false). */
  error?: string;
}

/** The one line a refusal (or a forced run) reports: every short pool's problems. */
export function shortageText(report: CapacityReport): string {
  return report.pools
    .filter((p) => !p.ok)
    .map((p) => p.message)
    .join("; ");
}
