import type { Reporter } from "../../core/types.js";
import { ndjsonReporter } from "./ndjson.js";
import { plainReporter, type StreamReporterOptions } from "./plain.js";
import { ttyReporter } from "./tty.js";

export { ProgressEmitter, type EventExtras } from "./emitter.js";
export { describeEvent, evidenceLines, formatDuration, type EventLine, type Tone } from "./format.js";
export { fanOut, memoryReporter, type MemoryReporter } from "./memory.js";
export { ndjsonReporter } from "./ndjson.js";
export { plainReporter, type StreamReporterOptions } from "./plain.js";
export { ttyReporter } from "./tty.js";

export type ReporterKind = "tty" | "plain" | "ndjson";

/** --json → ndjson; a terminal → tty; anything else (CI, pipes) → plain. */
export function chooseReporterKind(opts: { json: boolean; isTTY: boolean; ci?: boolean }): ReporterKind {
  if (opts.json) return "ndjson";
  return opts.isTTY && !opts.ci ? "tty" : "plain";
}

export function createReporter(kind: ReporterKind, opts: StreamReporterOptions): Reporter {
  switch (kind) {
    case "ndjson":
      return ndjsonReporter(opts);
    case "tty":
      return ttyReporter(opts);
    case "plain":
      return plainReporter(opts);
  }
}
