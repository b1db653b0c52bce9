// What a finished run left behind, read from the outside: its journal
// (<stateDir>/journal/<stack>/<runId>.jsonl, automation/journal/journal.ts) and the NDJSON progress events
// of `--json` (docs/json-output.md).
import * as fs from "node:fs";
import * as path from "node:path";

export interface Entry {
  seq: number;
  time: string;
  kind: string;
  phase: string;
  action?: string;
  outcome?: string;
  message?: string;
  data?: unknown;
}

export interface Event {
  kind: string;
  phase?: string;
  time?: string;
  status?: string;
  wave?: string;
  waveKind?: string;
  pools?: string[];
  gate?: { name: string; status: string; durationMs: number };
  result?: Record<string, unknown>;
  outcome?: string;
  message?: string;
}

export function jsonLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // not a whole JSON line
    }
  }
  return out;
}

/** The journal of the newest run of the stack. */
export function latestJournal(stateDir: string, stack: string): Entry[] {
  const dir = path.join(stateDir, "journal", stack);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort();
  const last = files.at(-1);
  if (!last) throw new Error(`no journal in ${dir}`);
  return jsonLines<Entry>(fs.readFileSync(path.join(dir, last), "utf8"));
}

export const ms = (iso: string) => Date.parse(iso);

/** The first entry matching; throws naming what was missing, since a figure without it is wrong. */
export function find(entries: Entry[], match: Partial<Entry>, what: string): Entry {
  const e = entries.find((x) => Object.entries(match).every(([k, v]) => (x as unknown as Record<string, unknown>)[k] === v));
  if (!e)
    throw new Error(`journal has no ${what} (${JSON.stringify(match)}); entries: ${entries.map((x) => `${x.phase}/${x.kind}/${x.action ?? ""}`).join(" ")}`);
  return e;
}

/**
 * Wall time per phase from timestamped events: the stream is cut where the phase changes, each
 * piece lasts until the next one starts, and pieces of the same phase add up.
 */
export function phaseTimes(items: { phase?: string; time?: string }[]): Record<string, number> {
  const timed = items.filter((i): i is { phase: string; time: string } => !!i.phase && !!i.time);
  const out: Record<string, number> = {};
  for (let i = 0; i < timed.length; i++) {
    const cur = timed[i]!;
    if (i > 0 && timed[i - 1]!.phase === cur.phase) continue;
    let j = i + 1;
    while (j < timed.length && timed[j]!.phase === cur.phase) j++;
    const end = timed[j]?.time ?? timed[j - 1]!.time;
    out[cur.phase] = (out[cur.phase] ?? 0) + (ms(end) - ms(cur.time));
  }
  return out;
}

/** The phases of an upgrade's progress events, in the order a run goes through them (docs/json-output.md). */
export const UPGRADE_PHASES = ["lock", "preflight", "snapshot", "freeze", "set-config", "preview", "guardrails", "hold", "apply", "wave", "verify", "thaw"];

export interface WaveTime {
  wave: string;
  waveKind?: string;
  pools?: string[];
  /** From its `released` event to its `succeeded` event. */
  ms: number;
}

/** Each wave that was released and succeeded, in the order they ended. */
export function waveTimes(events: Event[]): WaveTime[] {
  const released = new Map<string, Event & { time: string }>();
  const out: WaveTime[] = [];
  for (const e of events) {
    if (e.kind !== "wave" || !e.wave || !e.time) continue;
    if (e.status === "released") released.set(e.wave, { ...e, time: e.time });
    const r = released.get(e.wave);
    if (e.status === "succeeded" && r) {
      out.push({ wave: e.wave, ...(r.waveKind ? { waveKind: r.waveKind } : {}), ...(r.pools ? { pools: r.pools } : {}), ms: ms(e.time) - ms(r.time) });
    }
  }
  return out;
}
