import { preview } from "../../actions/preview.js";
import { EXIT_CODES } from "../../errors.js";
import { requireStack, type CommandContext } from "../context.js";
import { summary, violations } from "../render.js";

export interface PreviewFlags {
  to?: string;
  chartVersion?: string;
}

export async function run(flags: PreviewFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet preview --stack dev --to v0.3.2");
  const report = await preview(
    { stack, ...(flags.to !== undefined ? { to: flags.to } : {}), ...(flags.chartVersion !== undefined ? { chartVersion: flags.chartVersion } : {}) },
    ctx.action,
  );
  const policyRefused = report.policy !== undefined && !report.policy.allowed;
  ctx.out.result("preview", report, () => [
    `${stack}: ${summary(report.changeSummary)}`,
    ...(report.policy && !report.policy.allowed ? [`version policy would refuse (${report.policy.rule}): ${report.policy.reason}`] : []),
    ...(report.guardrails.ok ? ["guardrails: ok"] : ["guardrails would refuse:", ...violations(report.guardrails.violations)]),
  ]);
  // Exit 4 when an upgrade with these inputs would be refused, so scripts can check first.
  return policyRefused || !report.guardrails.ok ? EXIT_CODES.refused : EXIT_CODES.ok;
}
