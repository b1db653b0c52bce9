import { rollback } from "../../actions/rollback.js";
import { exitCodeForResult, type RollbackTarget } from "../../../core/types.js";
import type { VerifyCheckName } from "../../verify/types.js";
import { requireConsent, requireStack, type CommandContext } from "../context.js";
import { renderUpgradeResult } from "../render.js";

export interface RollbackFlags {
  to: RollbackTarget;
  dryRun?: boolean;
  force?: boolean;
  skipCheck?: VerifyCheckName[];
}

export async function run(flags: RollbackFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet rollback --stack dev --to previous");
  if (!flags.dryRun) requireConsent(ctx, "rollback");
  const result = await rollback(
    {
      stack,
      target: flags.to,
      dryRun: flags.dryRun === true,
      force: flags.force === true,
      ...(flags.skipCheck?.length ? { skipChecks: flags.skipCheck } : {}),
    },
    ctx.action,
  );
  ctx.out.result("rollback", result, () => renderUpgradeResult(result, "rollback"));
  return exitCodeForResult(result);
}
