/**
 * Runs one command line against injected streams and returns the exit code. All error-to-exit-
 * code mapping happens here; `main.ts` only wires the real process to it.
 */
import { CommanderError } from "commander";
import { UsageError, toSieFleetError } from "../../core/errors.js";
import { secretsFromEnv } from "../../core/redact.js";
import type { CliIO } from "./context.js";
import { Output } from "./output.js";
import { buildProgram, type RunState } from "./program.js";

/** One complete, correct command line per command, shown when a flag is missing or wrong. */
const EXAMPLES: Record<string, string> = {
  upgrade: "sie-fleet upgrade --stack dev --to v0.3.2",
  preview: "sie-fleet preview --stack dev --to v0.3.2",
  up: "sie-fleet up --stack dev --yes",
  rollback: "sie-fleet rollback --stack dev --to previous",
  history: "sie-fleet history --stack dev",
  status: "sie-fleet status --stack dev --watch",
  recover: "sie-fleet recover --stack dev",
  verify: "sie-fleet verify --stack dev",
  demo: "sie-fleet demo",
  cluster: "sie-fleet cluster start",
  "support-bundle": "sie-fleet support-bundle --stack dev",
};

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const state: RunState = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err, argv, io, state);
    const e = toSieFleetError(err);
    const out = state.ctx?.out ?? new Output(io, argv.includes("--json"), secretsFromEnv(io.env));
    out.error(e, { verbose: state.ctx?.globals.verbose ?? argv.includes("--verbose"), ...(state.command ? { command: state.command } : {}) });
    return e.exitCode;
  } finally {
    await state.ctx?.reporter.close?.();
  }
}

function commanderExit(err: CommanderError, argv: readonly string[], io: CliIO, state: RunState): number {
  if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
  const verb = argv.slice(2).find((a) => Object.hasOwn(EXAMPLES, a));
  const helpCmd = `sie-fleet ${verb ? `${verb} ` : ""}--help`;
  if (err.code === "commander.help" || err.code === "commander.executeSubCommandAsync") {
    // No command given: commander already printed the help to stderr.
    return new UsageError("").exitCode;
  }
  let message = err.message.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ");
  if (err.code === "commander.missingMandatoryOptionValue" && verb) message += `, e.g. \`${EXAMPLES[verb]}\``;
  const usage = new UsageError(message, { code: "bad-flags", hint: helpCmd, details: { commanderCode: err.code } });
  new Output(io, argv.includes("--json"), secretsFromEnv(io.env)).error(usage, {
    ...(state.command ? { command: state.command } : verb ? { command: verb } : {}),
  });
  return usage.exitCode;
}
