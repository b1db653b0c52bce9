import { supportBundle } from "../../actions/supportBundle.js";
import { EXIT_CODES } from "../../../core/errors.js";
import { requireStack, type CommandContext } from "../context.js";

export interface SupportBundleFlags {
  output?: string;
}

export async function run(flags: SupportBundleFlags, ctx: CommandContext): Promise<number> {
  const stack = requireStack(ctx, "sie-fleet support-bundle --stack dev");
  const result = await supportBundle({ stack, ...(flags.output !== undefined ? { output: flags.output } : {}) }, ctx.action);
  ctx.out.result("support-bundle", result, () => [
    `✔ ${stack}: support bundle written to ${result.path} (${result.files.length} file(s), ${result.bytes} bytes, secrets redacted)`,
    ...result.notes.map((n) => `  note: ${n}`),
    `attach it to your ticket; list its contents with: tar tzf ${result.path}`,
  ]);
  // A bundle with parts missing is still a bundle: the notes say what is missing and why.
  return EXIT_CODES.ok;
}
