import { verify } from "../../actions/verify.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { requireStack, type CommandContext } from "../context.js";
import { gateLines } from "../render.js";

export async function run(_flags: Record<string, never>, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet verify --stack dev");
  const report = await verify({ stack }, ctx.action);
  ctx.out.result("verify", report, () => [`${stack}: ${report.ok ? "healthy" : "UNHEALTHY"}`, ...gateLines(report.gates)]);
  // A failing verification outside an upgrade has nothing to revert: a person must look.
  return report.ok ? EXIT_CODES.ok : EXIT_CODES.needsAttention;
}
