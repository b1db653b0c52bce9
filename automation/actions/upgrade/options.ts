// What an upgrade is asked to do; rollback asks for the same with its own way of setting the config.
import type { VerifyCheckName } from "../../verify/index.js";
import type { StackContext } from "../context.js";

export interface UpgradeOptions {
  stack: string;
  /** Image tag to move to, e.g. "v0.3.2". */
  to: string;
  chartVersion?: string;
  /** Preview and check policy/guardrails only; change nothing. */
  dryRun?: boolean;
  /**
   * Override version-policy, promotion-policy, capacity and KEDA refusals, and digest mismatches
   * (warned, journaled); go on without checks that have nothing to look at (recorded as skipped).
   */
  force?: boolean;
  /** --skip-check: checks this run leaves out, besides rollout.gates.skip; the run then ends succeeded-unverified at best. */
  skipChecks?: readonly VerifyCheckName[];
}

/** What `upgrade` and `rollback` share; rollback brings its own way of setting the config. */
export interface ChangeOptions extends UpgradeOptions {
  command: "upgrade" | "rollback";
  /** Sets the target config (default: the image tag, and the chart version if given). */
  applyConfig?: (sc: StackContext) => Promise<void>;
  /** Journal/outcome wording, e.g. "rollback to update 3". */
  label?: string;
}
