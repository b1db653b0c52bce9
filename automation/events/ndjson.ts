/**
 * One JSON object per line (the --json contract, docs/json-output.md). Events are written as
 * they are, after redaction; fields are only ever added, and `v` changes on a breaking change.
 */
import { redact } from "../../core/redact.js";
import type { ProgressEvent, Reporter } from "../../core/types.js";
import type { StreamReporterOptions } from "./plain.js";

export function ndjsonReporter(opts: StreamReporterOptions): Reporter {
  return {
    emit(event: ProgressEvent): void {
      if (event.kind === "log" && event.level === "debug" && !opts.verbose) return;
      opts.stream.write(`${JSON.stringify(redact(event, opts.secrets ?? []))}\n`);
    },
  };
}
