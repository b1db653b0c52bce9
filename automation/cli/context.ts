/**
 * What a command module gets: the process's streams (injected, so tests run commands in-process),
 * the parsed global flags, the ActionContext handed to the library, and the output helpers.
 */
import * as path from "node:path";
import { DEFAULT_STATE_DIR, STACK_ENV, STATE_DIR_ENV } from "../../core/defaults.js";
import { UsageError } from "../../core/errors.js";
import { chooseReporterKind, createReporter } from "../events/index.js";
import { secretsFromEnv } from "../../core/redact.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext, Reporter } from "../../core/types.js";
import { type CliStream, Output } from "./output.js";

export interface CliIO {
  stdout: CliStream & NodeJS.WritableStream;
  stderr: CliStream & NodeJS.WritableStream;
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on the first Ctrl-C. */
  signal: AbortSignal;
}

/** The global flags, after env fallbacks and defaults. */
export interface GlobalOptions {
  stack?: string;
  json: boolean;
  yes: boolean;
  nonInteractive: boolean;
  stateDir: string;
  verbose: boolean;
}

export interface CommandContext {
  io: CliIO;
  globals: GlobalOptions;
  action: ActionContext;
  reporter: Reporter;
  out: Output;
}

/** Flags first, then the environment (empty values count as unset), then defaults. */
export function resolveGlobals(raw: Record<string, unknown>, io: CliIO): GlobalOptions {
  const env = (name: string): string | undefined => (io.env[name] ? io.env[name] : undefined);
  const flagStack = typeof raw["stack"] === "string" ? raw["stack"] : undefined;
  const envStack = env(STACK_ENV);
  const stack = flagStack ?? (envStack === undefined ? undefined : assertStackName(envStack, STACK_ENV));
  const stateDir = typeof raw["stateDir"] === "string" ? raw["stateDir"] : (env(STATE_DIR_ENV) ?? DEFAULT_STATE_DIR);
  return {
    ...(stack !== undefined ? { stack } : {}),
    json: raw["json"] === true,
    yes: raw["yes"] === true,
    // Prompts need a person at a terminal; CI and pipes have none.
    nonInteractive: raw["nonInteractive"] === true || !io.stdinIsTTY || Boolean(io.env["CI"]),
    stateDir: path.resolve(io.cwd, stateDir),
    verbose: raw["verbose"] === true,
  };
}

export function makeCommandContext(io: CliIO, globals: GlobalOptions): CommandContext {
  const secrets = secretsFromEnv(io.env);
  const kind = chooseReporterKind({ json: globals.json, isTTY: io.stderr.isTTY === true, ci: Boolean(io.env["CI"]) });
  // Machine output goes to stdout; human progress to stderr so stdout stays pipeable.
  const reporter = createReporter(kind, { stream: globals.json ? io.stdout : io.stderr, verbose: globals.verbose, secrets });
  const action: ActionContext = {
    stateDir: globals.stateDir,
    reporter,
    signal: io.signal,
    secrets,
    yes: globals.yes,
    nonInteractive: globals.nonInteractive,
    verbose: globals.verbose,
    env: io.env,
    cwd: io.cwd,
  };
  return { io, globals, action, reporter, out: new Output(io, globals.json, secrets) };
}

/** The --stack value, or a UsageError showing how to pass it. */
export function requireStack(ctx: CommandContext, example: string): string {
  if (!ctx.globals.stack) {
    throw new UsageError(`missing --stack: name the stack to act on (or set SIE_FLEET_STACK), e.g. \`${example}\``, {
      code: "missing-stack",
      hint: example,
    });
  }
  return ctx.globals.stack;
}

/**
 * Without a terminal nobody watches a changing command, so it needs --yes: refuse up front
 * (exit 2) rather than proceed unseen.
 */
export function requireConsent(ctx: CommandContext, command: string): void {
  if (ctx.globals.nonInteractive && !ctx.globals.yes) {
    throw new UsageError(`${command} changes the cluster and stdin is not a terminal, so nobody can confirm: re-run with --yes (or --dry-run to only look)`, {
      code: "needs-yes",
      hint: `sie-fleet ${command} --yes …`,
    });
  }
}
