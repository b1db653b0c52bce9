import { up } from "../../actions/up.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { formatDuration } from "../../events/format.js";
import { requireConsent, requireStack, type CommandContext } from "../context.js";
import { summary } from "../render.js";

export interface UpFlags {
  message?: string;
}

export async function run(flags: UpFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet up --stack dev --yes");
  requireConsent(ctx, "up");
  const report = await up({ stack, ...(flags.message !== undefined ? { message: flags.message } : {}) }, ctx.action);
  ctx.out.result("up", report, () => [`✔ ${stack}: applied (${summary(report.changeSummary)}) in ${formatDuration(report.durationMs)}`]);
  return EXIT_CODES.ok;
}
