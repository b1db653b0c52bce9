/**
 * Results and errors as the user sees them. Human text goes to stdout (results) and stderr
 * (errors); with --json each is one line on stdout: `{"v":1,"kind":"result",…}` or
 * `{"v":1,"kind":"error",…}` (docs/json-output.md). Everything is redacted on the way out.
 */
import type { SieFleetError } from "../../core/errors.js";
import { redact, redactText } from "../../core/redact.js";
import { EVENT_SCHEMA_VERSION } from "../../core/types.js";

export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export class Output {
  constructor(
    private readonly io: { stdout: CliStream; stderr: CliStream },
    readonly json: boolean,
    private readonly secrets: readonly string[],
  ) {}

  /** The command's result: JSON on --json, else the human lines. */
  result(command: string, result: unknown, human: readonly string[] | (() => readonly string[])): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(redact({ v: EVENT_SCHEMA_VERSION, kind: "result", command, result }, this.secrets))}\n`);
      return;
    }
    const lines = typeof human === "function" ? human() : human;
    for (const l of lines) this.io.stdout.write(`${redactText(l, this.secrets)}\n`);
  }

  /** A human line on stdout (ignored with --json). */
  line(text: string): void {
    if (!this.json) this.io.stdout.write(`${redactText(text, this.secrets)}\n`);
  }

  error(err: SieFleetError, opts: { verbose?: boolean; command?: string } = {}): void {
    if (this.json) {
      this.io.stdout.write(
        `${JSON.stringify(redact({ v: EVENT_SCHEMA_VERSION, kind: "error", ...(opts.command ? { command: opts.command } : {}), error: err.toJSON() }, this.secrets))}\n`,
      );
      return;
    }
    const lines = [`error: ${err.message}`];
    if (err.hint) lines.push(`hint: ${err.hint}`);
    if (opts.verbose && err.cause instanceof Error && err.cause.stack) lines.push(`cause: ${err.cause.stack}`);
    else if (opts.verbose && err.stack) lines.push(err.stack);
    this.io.stderr.write(`${redactText(lines.join("\n"), this.secrets)}\n`);
  }
}
