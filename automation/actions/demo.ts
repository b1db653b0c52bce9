// PLACEHOLDER created by the automation/CLI engineer so the CLI compiles and runs; the lead
// replaces this file with the real action. Keep the exported names (the CLI imports them) or
// update automation/cli/commands/demo.ts with it.
import { InternalError } from "../errors.js";
import type { ActionContext } from "../types.js";

export interface DemoOptions {
  /** Simulator timing profile. */
  profile?: "fast" | "demo";
  /** Leave the simulator and stack in place afterwards. */
  keep?: boolean;
}

export interface DemoReport {
  steps: { name: string; outcome: string; exitCode: number }[];
}

export async function demo(_opts: DemoOptions, _ctx: ActionContext): Promise<DemoReport> {
  throw new InternalError("demo is not implemented yet");
}
