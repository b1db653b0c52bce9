import { status, type StatusReport } from "../../actions/status.js";
import { POLL_INTERVALS } from "../../defaults.js";
import { EXIT_CODES } from "../../errors.js";
import { systemClock } from "../../clock.js";
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
    ...(r.lock ? [`locked by \`${r.lock.command}\` (pid ${r.lock.pid} on ${r.lock.host}, since ${r.lock.startedAt})`] : []),
    ...(r.incompleteRunId ? [`unfinished run ${r.incompleteRunId}: run \`sie-fleet recover --stack ${r.stack}\``] : []),
    ...table(
      ["KIND", "NAME", "READY", "IMAGE", "STATUS"],
      r.workloads.map((w) => [w.kind, w.name, `${w.ready}/${w.desired}`, w.image ?? "", w.reason]),
    ),
  ];
}
