import { upgrade } from "../../actions/upgrade.js";
import { UsageError } from "../../../core/errors.js";
import { exitCodeForResult } from "../../../core/types.js";
import type { VerifyCheckName } from "../../verify/types.js";
import { requireConsent, requireStack, type CommandContext } from "../context.js";
import { renderFleetResult, renderUpgradeResult } from "../render.js";

export interface UpgradeFlags {
  to: string;
  chartVersion?: string;
  dryRun?: boolean;
  force?: boolean;
  skipCheck?: VerifyCheckName[];
  /** A fleet: these stacks, in order, instead of --stack. */
  stacks?: string[];
}

export async function run(flags: UpgradeFlags, ctx: CommandContext): Promise<number> {
  if (flags.stacks) return runFleet({ ...flags, stacks: flags.stacks }, ctx);
  const stack = requireStack(ctx, `sie-fleet upgrade --stack dev --to ${flags.to}`);
  if (!flags.dryRun) requireConsent(ctx, "upgrade");
  const result = await upgrade(
    {
      stack,
      to: flags.to,
      ...(flags.chartVersion !== undefined ? { chartVersion: flags.chartVersion } : {}),
      dryRun: flags.dryRun === true,
      force: flags.force === true,
      ...(flags.skipCheck?.length ? { skipChecks: flags.skipCheck } : {}),
    },
    ctx.action,
  );
  ctx.out.result("upgrade", result, () => renderUpgradeResult(result));
  return exitCodeForResult(result);
}

async function runFleet(flags: UpgradeFlags & { stacks: string[] }, ctx: CommandContext): Promise<number> {
  if (ctx.globals.stack) {
    throw new UsageError(`--stacks and --stack (or SIE_FLEET_STACK=${ctx.globals.stack}) both name stacks: use one`, {
      code: "bad-flags",
      hint: `sie-fleet upgrade --stacks ${flags.stacks.join(",")} --to ${flags.to} --yes`,
    });
  }
  if (flags.dryRun) {
    // Later stacks of a fleet are judged on what earlier ones verified, which a dry run never does.
    throw new UsageError("--dry-run does not go with --stacks: preview each stack on its own", {
      code: "bad-flags",
      hint: `sie-fleet upgrade --stack ${flags.stacks[0]} --to ${flags.to} --dry-run`,
    });
  }
  requireConsent(ctx, "upgrade");
  const { fleetUpgrade } = await import("../../actions/fleet.js");
  const result = await fleetUpgrade(
    {
      stacks: flags.stacks,
      to: flags.to,
      ...(flags.chartVersion !== undefined ? { chartVersion: flags.chartVersion } : {}),
      force: flags.force === true,
      ...(flags.skipCheck?.length ? { skipChecks: flags.skipCheck } : {}),
    },
    ctx.action,
  );
  ctx.out.result("upgrade", result, () => renderFleetResult(result));
  return result.exitCode;
}
