/**
 * How an event reads as one human line, shared by the tty and plain reporters so both say the
 * same thing. Pure.
 */
import type { LogLevel, ProgressEvent } from "../../core/types.js";

export type Tone = "start" | "ok" | "fail" | "skip" | "warn" | "info" | "debug";

export interface EventLine {
  tone: Tone;
  /** Scope shown before the text: "preflight", "wave canary". */
  scope: string;
  text: string;
}

export function describeEvent(e: ProgressEvent): EventLine {
  const scope = e.wave ? `wave ${e.wave}` : e.phase;
  switch (e.kind) {
    case "phase":
      return { tone: phaseTone(e.status), scope, text: withDuration(e.message, e.durationMs) };
    case "wave":
      return {
        tone: e.status === "succeeded" ? "ok" : e.status === "failed" ? "fail" : e.status === "skipped" ? "skip" : "start",
        scope: `wave ${e.wave}`,
        text: e.message,
      };
    case "gate":
      return { tone: e.gate.status === "pass" ? "ok" : e.gate.status === "fail" ? "fail" : "warn", scope, text: `gate ${e.gate.name}: ${e.gate.message}` };
    case "rollout":
      return { tone: e.done ? "ok" : "info", scope, text: e.reason };
    case "resource":
      return { tone: e.status === "failed" ? "fail" : e.status === "done" ? "ok" : "info", scope, text: withDuration(e.message, e.durationMs) };
    case "log":
      return { tone: levelTone(e.level), scope, text: e.message };
    case "stack":
      return {
        tone: e.outcome === "succeeded" || e.outcome === "already" ? "ok" : e.outcome === "refused" || e.outcome === "reverted" ? "warn" : "fail",
        scope: `stack ${e.stack}`,
        text: e.message,
      };
    case "outcome":
      return {
        tone:
          e.outcome === "succeeded" || e.outcome === "dry-run" || e.outcome === "recovered"
            ? "ok"
            : e.outcome === "reverted" || e.outcome === "refused" || e.outcome === "succeeded-unverified"
              ? "warn"
              : "fail",
        scope,
        text: e.message,
      };
  }
}

/** Evidence as short indented lines ("pod x: CrashLoopBackOff, 3 restarts, image …"). */
export function evidenceLines(e: ProgressEvent): string[] {
  const pods = e.kind === "gate" ? e.gate.evidence.pods : e.evidence?.pods;
  return (pods ?? []).map((p) => `pod ${p.pod}: ${p.reason}, ${p.restartCount} restart(s), image ${p.image}${p.message ? ` — ${p.message}` : ""}`);
}

/** ASCII markers for logs that may not render symbols. */
export const PLAIN_MARKERS: Record<Tone, string> = {
  start: "start",
  ok: "ok",
  fail: "FAIL",
  skip: "skip",
  warn: "WARN",
  info: "info",
  debug: "debug",
};

function phaseTone(status: "started" | "succeeded" | "failed" | "skipped"): Tone {
  return status === "started" ? "start" : status === "succeeded" ? "ok" : status === "failed" ? "fail" : "skip";
}

function levelTone(level: LogLevel): Tone {
  return level === "error" ? "fail" : level === "warn" ? "warn" : level === "debug" ? "debug" : "info";
}

function withDuration(text: string, ms: number | undefined): string {
  return ms === undefined ? text : `${text} (${formatDuration(ms)})`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}
