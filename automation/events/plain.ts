/** One timestamped line per event: for CI logs and anything that is not a terminal. */
import { redact } from "../../core/redact.js";
import type { ProgressEvent, Reporter } from "../../core/types.js";
import { describeEvent, evidenceLines, PLAIN_MARKERS } from "./format.js";

export interface StreamReporterOptions {
  stream: NodeJS.WritableStream;
  /** Show debug-level log events. */
  verbose?: boolean;
  /** Values to redact wherever they appear. */
  secrets?: readonly string[];
}

export function plainReporter(opts: StreamReporterOptions): Reporter {
  return {
    emit(event: ProgressEvent): void {
      const e = redact(event, opts.secrets ?? []);
      const line = describeEvent(e);
      if (line.tone === "debug" && !opts.verbose) return;
      const out = [
        `${e.time} ${PLAIN_MARKERS[line.tone].padEnd(5)} [${line.scope}] ${line.text}`,
        ...evidenceLines(e).map((l) => `${" ".repeat(e.time.length)}       ${l}`),
      ];
      opts.stream.write(`${out.join("\n")}\n`);
    },
  };
}
