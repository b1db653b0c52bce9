/**
 * Live progress on a terminal: one spinner for whatever is running now (a phase, a wave's
 * rollout), finished lines persisted above it. Everything else (gates, warnings, resource
 * steps) is printed above the spinner without disturbing it.
 */
import ora, { type Ora } from "ora";
import { redact } from "../../core/redact.js";
import type { ProgressEvent, Reporter } from "../../core/types.js";
import { describeEvent, evidenceLines, type EventLine } from "./format.js";
import type { StreamReporterOptions } from "./plain.js";

const SYMBOLS = { ok: "✔", fail: "✖", warn: "⚠", skip: "–", info: "ℹ", start: "›", debug: "·" } as const;

export function ttyReporter(opts: StreamReporterOptions & { spinner?: Ora }): Reporter {
  // discardStdin stays off: it would put stdin in raw mode and take Ctrl-C away from cli/main.
  const spinner = opts.spinner ?? ora({ stream: opts.stream, discardStdin: false });
  const write = (text: string): void => {
    if (spinner.isSpinning) {
      spinner.clear();
      opts.stream.write(`${text}\n`);
      spinner.render();
    } else {
      opts.stream.write(`${text}\n`);
    }
  };
  const label = (l: EventLine): string => `${l.scope}: ${l.text}`;
  const finish = (l: EventLine): void => {
    const text = label(l);
    if (!spinner.isSpinning) spinner.text = text;
    if (l.tone === "ok") spinner.succeed(text);
    else if (l.tone === "fail") spinner.fail(text);
    else if (l.tone === "warn") spinner.warn(text);
    else spinner.stopAndPersist({ symbol: SYMBOLS[l.tone], text });
  };

  return {
    emit(event: ProgressEvent): void {
      const e = redact(event, opts.secrets ?? []);
      const l = describeEvent(e);
      if (l.tone === "debug" && !opts.verbose) return;
      const details = evidenceLines(e).map((x) => `    ${x}`);
      switch (e.kind) {
        case "phase":
        case "wave":
          if (l.tone === "start") spinner.start(label(l));
          else finish(l);
          break;
        case "rollout":
          if (spinner.isSpinning) spinner.text = label(l);
          else write(`  ${SYMBOLS.info} ${label(l)}`);
          break;
        case "outcome":
          if (spinner.isSpinning) spinner.stop();
          write(`${SYMBOLS[l.tone]} ${e.message}`);
          break;
        default:
          write(`  ${SYMBOLS[l.tone]} ${label(l)}`);
      }
      for (const d of details) write(d);
    },
    close(): void {
      if (spinner.isSpinning) spinner.stop();
    },
  };
}
