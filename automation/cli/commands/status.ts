import { status, type StatusReport } from "../../actions/status.js";
import { POLL_INTERVALS } from "../../../core/defaults.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { systemClock } from "../../../core/clock.js";
import { requireStack, type CommandContext } from "../context.js";
import { table } from "../render.js";

export interface StatusFlags {
  watch?: boolean;
  interval?: number;
}

export async function run(flags: StatusFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet status --stack dev");
  const once = async (): Promise<StatusReport> => {
    const report = await status({ stack }, ctx.action);
    ctx.out.result("status", report, () => render(report));
    return report;
  };
  if (!flags.watch) {
    await once();
    return EXIT_CODES.ok;
  }
  const intervalMs = (flags.interval ?? POLL_INTERVALS.statusWatchMs / 1000) * 1000;
  const redraw = ctx.io.stdout.isTTY === true && !ctx.globals.json;
  try {
    for (;;) {
      // Clear the screen so the table updates in place, like `watch`.
      if (redraw) ctx.io.stdout.write("\u001b[2J\u001b[H");
      await once();
      await systemClock.sleep(intervalMs, ctx.io.signal);
    }
  } catch (err) {
    // Ctrl-C ends a watch; that is the normal way out.
    if (ctx.io.signal.aborted) return EXIT_CODES.ok;
    throw err;
  }
}

function render(r: StatusReport): string[] {
  return [
    `stack ${r.stack}${r.imageTag ? ` — image ${r.imageTag}` : ""}`,
    ...(r.lock ? [lockLine(r.lock)] : []),
    ...(r.run ? [runLine(r.stack, r.run)] : []),
    ...table(
      ["KIND", "NAME", "READY", "IMAGE", "STATUS"],
      r.workloads.map((w) => [w.kind, w.name, `${w.ready}/${w.desired}`, w.image ?? "", w.reason]),
    ),
  ];
}

function lockLine(l: NonNullable<StatusReport["lock"]>): string {
  const renewal = l.renewedAt
    ? `, last renewed ${l.renewedAt}, ${l.expired ? `expired ${l.expiresAt}: only recover may take it over` : `expires ${l.expiresAt} unless renewed`}`
    : "";
  return `locked by \`${l.command}\` (pid ${l.pid} on ${l.host}, run ${l.runId}, since ${l.startedAt}${l.gone ? "; that process is gone" : ""}) in ${l.where}${renewal}`;
}

function runLine(stack: string, r: NonNullable<StatusReport["run"]>): string {
  const at = `phase ${r.phase}${r.step ? ` (${r.step})` : ""} at ${r.updatedAt}`;
  return r.live
    ? `run ${r.runId} (${r.command ?? "?"}) under way: ${at}`
    : `unfinished run ${r.runId} (${r.command ?? "?"}, stopped in ${at}): run \`sie-fleet recover --stack ${stack}\``;
}
