import { recover } from "../../actions/recover.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { requireConsent, requireStack, type CommandContext } from "../context.js";

export async function run(_flags: Record<string, never>, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet recover --stack dev --yes");
  requireConsent(ctx, "recover");
  const report = await recover({ stack }, ctx.action);
  ctx.out.result("recover", report, () => [
    `${report.action === "needs-attention" ? "‼" : "✔"} ${stack}: ${report.message}${report.runId ? ` (run ${report.runId})` : ""}`,
  ]);
  // Recovery that finished or undid the run leaves a consistent stack; only a failed one needs a person.
  return report.action === "needs-attention" ? EXIT_CODES.needsAttention : EXIT_CODES.ok;
}
