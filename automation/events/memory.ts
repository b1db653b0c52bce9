/** Collects events in memory: for tests and for callers that render at the end. */
import type { ProgressEvent, Reporter } from "../../core/types.js";

export interface MemoryReporter extends Reporter {
  readonly events: ProgressEvent[];
}

export function memoryReporter(): MemoryReporter {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => void events.push(e) };
}

/** Sends every event to each reporter; one failing reporter does not silence the others. */
export function fanOut(...reporters: Reporter[]): Reporter {
  return {
    emit(e) {
      for (const r of reporters) {
        try {
          r.emit(e);
        } catch {
          /* a broken pipe on one output must not stop the run */
        }
      }
    },
    async close() {
      for (const r of reporters) await r.close?.();
    },
  };
}
