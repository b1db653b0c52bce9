import { history } from "../../actions/history.js";
import { digestSummary } from "../../../core/imageDigests.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { requireStack, type CommandContext } from "../context.js";
import { table } from "../render.js";
import { describeSkipped } from "../../verify/skipped.js";

export interface HistoryFlags {
  limit: number;
}

export async function run(flags: HistoryFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet history --stack dev");
  const entries = await history({ stack, limit: flags.limit }, ctx.action);
  ctx.out.result("history", entries, () =>
    entries.length === 0
      ? [`${stack}: no updates yet`]
      : table(
          ["UPDATE", "WHEN", "KIND", "RESULT", "TAG", "RUN OUTCOME", "DIGESTS", "MESSAGE"],
          entries.map((e) => [
            `update:${e.version}`,
            e.startTime,
            e.kind,
            e.result,
            e.imageTag ?? "",
            e.skippedChecks?.length ? `${e.outcome ?? ""} (left out: ${describeSkipped(e.skippedChecks)})` : (e.outcome ?? ""),
            digestSummary(e.digests),
            e.message ?? "",
          ]),
        ),
  );
  return EXIT_CODES.ok;
}
