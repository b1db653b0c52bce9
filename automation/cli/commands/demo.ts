import { demo } from "../../actions/demo.js";
import { EXIT_CODES } from "../../../core/errors.js";
import type { CommandContext } from "../context.js";

export interface DemoFlags {
  keep?: boolean;
}

export async function run(flags: DemoFlags, ctx: CommandContext): Promise<number> {
  const report = await demo({ keep: flags.keep === true }, ctx.action);
  ctx.out.result("demo", report, () => report.steps.map((s) => `${s.outcome.padEnd(16)} exit ${String(s.exitCode).padEnd(3)} ${s.name}`));
  return EXIT_CODES.ok;
}
