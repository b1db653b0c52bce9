import { EXIT_CODES, SieFleetError } from "../../errors.js";
import type { CommandContext } from "../context.js";

export async function run(_flags: { output?: string }, ctx: CommandContext): Promise<number> {
  throw new SieFleetError("not-implemented", EXIT_CODES.internal, "support-bundle is not implemented yet", {
    hint: `attach the run journals from ${ctx.globals.stateDir}/journal/<stack>/ (they are redacted) to your ticket instead`,
  });
}
