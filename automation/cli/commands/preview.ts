import { preview } from "../../actions/preview.js";
import type { ChartChange } from "../../plan/chartChange.js";
import { EXIT_CODES, UsageError } from "../../../core/errors.js";
import { requireStack, type CommandContext } from "../context.js";
import { capacityLines, kedaLines, summary, violations } from "../render.js";

export interface PreviewFlags {
  to?: string;
  chartVersion?: string;
}

export async function run(flags: PreviewFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet preview --stack dev --to v0.3.2");
  // A chart version alone would be silently ignored: the plain preview shows the current config.
  if (flags.chartVersion !== undefined && flags.to === undefined) {
    throw new UsageError(
      `--chart-version ${flags.chartVersion} needs --to: name the image tag to preview with it, e.g. \`sie-fleet preview --stack ${stack} --to v0.3.2 --chart-version ${flags.chartVersion}\``,
      {
        code: "bad-flags",
        hint: "sie-fleet preview --help",
      },
    );
  }
  const report = await preview(
    { stack, ...(flags.to !== undefined ? { to: flags.to } : {}), ...(flags.chartVersion !== undefined ? { chartVersion: flags.chartVersion } : {}) },
    ctx.action,
  );
  const policyRefused = report.policy !== undefined && !report.policy.allowed;
  ctx.out.result("preview", report, () => [
    `${stack}: ${summary(report.changeSummary)}`,
    ...(report.policy && !report.policy.allowed ? [`version policy would refuse (${report.policy.rule}): ${report.policy.reason}`] : []),
    // With --to the refusal comes from the upgrade's dry run; without its reason "refuse" says nothing.
    ...(report.upgrade?.outcome === "refused"
      ? [`an upgrade to ${report.upgrade.to} would be refused by ${report.upgrade.refusedBy} (${report.upgrade.rule}): ${report.upgrade.reason}`]
      : []),
    ...chartLines(report.upgrade?.chartChange),
    ...(report.guardrails.ok
      ? ["guardrails: ok"]
      : report.guardrails.violations.length > 0
        ? ["guardrails would refuse:", ...violations(report.guardrails.violations)]
        : []),
    ...capacityLines(report.capacity),
    ...kedaLines(report.keda),
  ]);
  // Exit 4 when an upgrade with these inputs would be refused, so scripts can check first.
  return policyRefused || !report.guardrails.ok ? EXIT_CODES.refused : EXIT_CODES.ok;
}

/** What a chart change does inside the release, as `helm diff` would list it, with the verdict. */
function chartLines(c: ChartChange | undefined): string[] {
  if (!c) return [];
  return [
    `chart ${c.from} → ${c.to}: ${c.added.length} object(s) added, ${c.removed.length} removed, ${c.changed.length} changed`,
    ...c.removed.map((r) => `  - ${r}`),
    ...c.added.map((r) => `  + ${r}`),
    ...c.changed.map((x) => `  ~ ${x.object}: ${x.paths.join(", ")}`),
    `chart guardrail (${c.verdict.rule}): ${c.verdict.reason}`,
  ];
}
