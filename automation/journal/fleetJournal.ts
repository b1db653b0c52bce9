/**
 * The fleet journal: one append-only JSONL file per `upgrade --stacks` run, at
 * `<stateDir>/fleet/<fleetId>.jsonl`. Each stack's own run keeps its own journal (journal.ts);
 * this one only says which stacks the fleet run finished and how, so a fleet run that was killed
 * resumes with the stack it was on (whose own unfinished run the next upgrade recovers first).
 * A fleet run with an "end" entry is finished; running the same command again starts a new one.
 */
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { InternalError } from "../../core/errors.js";
import { parseJournalText } from "./journal.js";

export const FLEET_OUTCOMES = ["succeeded", "succeeded-unverified", "already", "refused", "reverted", "needs-attention", "error"] as const;
/** How one stack of a fleet run ended: `already` = it ran the tag before this fleet run reached it. */
export type FleetStackOutcome = (typeof FLEET_OUTCOMES)[number];

export interface FleetRequest {
  stacks: string[];
  to: string;
  chartVersion: string | null;
  force: boolean;
}

export type FleetEntry = { v: 1; seq: number; time: string; fleetId: string } & (
  | ({ kind: "start" } & FleetRequest)
  | { kind: "stack-start"; stack: string }
  | { kind: "wait"; stack: string; until: string; message: string }
  | { kind: "stack-done"; stack: string; outcome: FleetStackOutcome; exitCode: number; runId?: string; message: string }
  | { kind: "end"; outcome: "succeeded" | "stopped"; exitCode: number }
);
type Body<E> = E extends unknown ? Omit<E, "v" | "seq" | "time" | "fleetId"> : never;
export type FleetEntryInput = Body<FleetEntry>;

export function fleetDir(stateDir: string): string {
  return path.join(stateDir, "fleet");
}

export class FleetJournal {
  private constructor(
    readonly path: string,
    readonly fleetId: string,
    private readonly fh: fsp.FileHandle,
    private seq: number,
  ) {}

  static async create(stateDir: string, fleetId: string, request: FleetRequest): Promise<FleetJournal> {
    const file = path.join(fleetDir(stateDir), `${fleetId}.jsonl`);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const fh = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_APPEND, 0o600);
    const j = new FleetJournal(file, fleetId, fh, 0);
    await j.append({ kind: "start", ...request });
    return j;
  }

  /** Reopens a killed fleet run for appending; a line cut short by the kill is dropped first. */
  static async open(stateDir: string, fleetId: string): Promise<{ journal: FleetJournal; entries: FleetEntry[] }> {
    const file = path.join(fleetDir(stateDir), `${fleetId}.jsonl`);
    const text = await fsp.readFile(file, "utf8");
    const read = parseJournalText(text);
    const fh = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_APPEND);
    if (read.truncated || !read.endsWithNewline) {
      await fh.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
      await fh.sync();
    }
    const entries = read.entries as unknown as FleetEntry[];
    return { journal: new FleetJournal(file, fleetId, fh, Math.max(0, ...entries.map((e) => e.seq))), entries };
  }

  /** Appends one entry and fsyncs it before resolving. */
  async append(input: FleetEntryInput): Promise<void> {
    const entry = { v: 1, seq: ++this.seq, time: new Date().toISOString(), fleetId: this.fleetId, ...input };
    try {
      await this.fh.write(`${JSON.stringify(entry)}\n`);
      await this.fh.sync();
    } catch (err) {
      throw new InternalError(`cannot write the fleet journal ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The newest fleet run for exactly these stacks and tag that never ended (killed), if any. */
export async function resumableFleet(stateDir: string, request: Pick<FleetRequest, "stacks" | "to">): Promise<string | undefined> {
  let names: string[];
  try {
    names = await fsp.readdir(fleetDir(stateDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  for (const name of names
    .filter((n) => n.endsWith(".jsonl"))
    .sort()
    .reverse()) {
    const entries = parseJournalText(await fsp.readFile(path.join(fleetDir(stateDir), name), "utf8")).entries as unknown as FleetEntry[];
    const start = entries.find((e) => e.kind === "start");
    if (start?.kind !== "start") continue;
    const same = start.to === request.to && start.stacks.join(",") === request.stacks.join(",");
    if (same && !entries.some((e) => e.kind === "end")) return name.slice(0, -".jsonl".length);
  }
  return undefined;
}

/** What a (killed) fleet run finished, stack by stack. */
export function finishedStacks(entries: readonly FleetEntry[]): Map<string, Extract<FleetEntry, { kind: "stack-done" }>> {
  const out = new Map<string, Extract<FleetEntry, { kind: "stack-done" }>>();
  for (const e of entries) if (e.kind === "stack-done") out.set(e.stack, e);
  return out;
}
