// `sie-fleet rollback`: restore the config recorded in stack history for an earlier update and
// roll it out with the same holds, waves, gates and automatic revert as an upgrade. Like Helm,
// a rollback rolls forward: it is a new update carrying the old config.
import { UsageError } from "../../core/errors.js";
import { applyRecordedConfig } from "../engine/operations.js";
import type { ActionContext, RollbackTarget } from "../../core/types.js";
import type { UpgradeResult } from "./results.js";
import { recordedUpdates, type RecordedUpdate } from "./history.js";
import { changeStack } from "./upgrade.js";
import { loadStackContext } from "./context.js";
import { stackTarget } from "./target.js";
import type { VerifyCheckName } from "../verify/types.js";

export interface RollbackOptions {
  stack: string;
  target: RollbackTarget;
  dryRun?: boolean;
  force?: boolean;
  /** --skip-check: as for upgrade. */
  skipChecks?: readonly VerifyCheckName[];
}

const BAD_RUN_OUTCOMES = new Set(["reverted", "needs-attention", "failed", "interrupted"]);

function pickUpdate(updates: readonly RecordedUpdate[], target: RollbackTarget, currentTag: string | undefined): RecordedUpdate {
  // An update made by a run that was reverted (or needs attention) is not a version to return to.
  const good = updates.filter((u) => u.kind === "update" && u.result === "succeeded" && u.imageTag && !BAD_RUN_OUTCOMES.has(u.outcome ?? ""));
  let found: RecordedUpdate | undefined;
  if (target.kind === "update") {
    found = updates.find((u) => u.version === target.version);
    if (found && !(found.kind === "update" && found.result === "succeeded")) {
      throw new UsageError(`update ${target.version} is a ${found.result} ${found.kind}, not a successful update: pick another with sie-fleet history`, {
        code: "bad-rollback-target",
      });
    }
  } else if (target.kind === "tag") {
    found = [...good].reverse().find((u) => u.imageTag === target.tag);
  } else {
    found = [...good].reverse().find((u) => u.imageTag !== currentTag);
  }
  if (!found) {
    const what =
      target.kind === "update"
        ? `update ${target.version}`
        : target.kind === "tag"
          ? `successful update with tag ${target.tag}`
          : "earlier successful update with a different tag";
    throw new UsageError(`--to: the stack history has no ${what}`, {
      code: "bad-rollback-target",
      hint: "list updates with: sie-fleet history --stack <stack>",
    });
  }
  return found;
}

export async function rollback(opts: RollbackOptions, ctx: ActionContext): Promise<UpgradeResult> {
  const updates = await recordedUpdates({ stack: opts.stack }, ctx);
  const sc = await loadStackContext(stackTarget(opts.stack, ctx));
  const current = sc.imageTag;
  const chosen = pickUpdate(updates, opts.target, current);
  return changeStack(
    {
      stack: opts.stack,
      to: chosen.imageTag as string,
      command: "rollback",
      label: `rollback to update ${chosen.version}`,
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.force ? { force: true } : {}),
      ...(opts.skipChecks?.length ? { skipChecks: opts.skipChecks } : {}),
      applyConfig: async (sc) => {
        const { missingSecrets } = await applyRecordedConfig(sc.open, chosen.config);
        if (missingSecrets.length)
          throw new UsageError(
            `update ${chosen.version} used secret config ${missingSecrets.join(", ")} that the stack no longer has; set it with pulumi config set --secret`,
          );
      },
    },
    ctx,
  );
}
