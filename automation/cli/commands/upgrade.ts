import { upgrade } from "../../actions/upgrade.js";
import { exitCodeForOutcome } from "../../types.js";
import { requireConsent, requireStack, type CommandContext } from "../context.js";
import { renderUpgradeResult } from "../render.js";

export interface UpgradeFlags {
  to: string;
  chartVersion?: string;
  dryRun?: boolean;
  force?: boolean;
}

export async function run(flags: UpgradeFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, `sie-fleet upgrade --stack dev --to ${flags.to}`);
  if (!flags.dryRun) requireConsent(ctx, "upgrade");
  const result = await upgrade(
    {
      stack,
      to: flags.to,
      ...(flags.chartVersion !== undefined ? { chartVersion: flags.chartVersion } : {}),
      dryRun: flags.dryRun === true,
      force: flags.force === true,
    },
    ctx.action,
  );
  ctx.out.result("upgrade", result, () => renderUpgradeResult(result));
  return exitCodeForOutcome(result.outcome);
}
