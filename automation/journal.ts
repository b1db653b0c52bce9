/**
 * The run journal: one append-only JSONL file per run at `<stateDir>/journal/<stack>/<runId>.jsonl`.
 *
 * Rules that make `recover` possible:
 * - an "intent" entry is written (and fsynced) BEFORE each side effect, with what is needed to undo
 *   it (prior annotations, prior partitions, the config snapshot);
 * - a "done" entry follows once the effect happened, referencing the intent's `seq`;
 * - the last entry of a finished run is an "outcome"; a journal that ends otherwise is an unfinished run.
 * A process killed mid-write leaves a partial last line; readers skip it and writers start a new line.
 * Everything written goes through redact().
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { InternalError, StackError } from "./errors.js";
import { redact } from "./redact.js";
import { assertStackName } from "./stackName.js";
import { TERMINAL_OUTCOMES, type JsonValue, type RunCommand, type RunOutcome, type RunPhase } from "./types.js";

export const JOURNAL_SCHEMA_VERSION = 1;

export type JournalEntryKind =
  /** First entry: who started the run and with what request. */
  | "start"
  /** About to perform a side effect; `data` holds what undoing it needs. */
  | "intent"
  /** The side effect announced by intent `ref` happened. */
  | "done"
  /** A choice the engine made (policy verdict, wave plan, revert decision). */
  | "decision"
  /** Measurements: gate results, pod evidence. */
  | "evidence"
  /** Terminal: the run ended with `outcome`. */
  | "outcome";

/**
 * The name of every journaled step. Runs write them and `recover` reads them back, so both use
 * these constants; the strings are part of the on-disk format and never change.
 */
export const JOURNAL_ACTIONS = {
  // Side effects (intent → done).
  configSnapshot: "config.snapshot",
  configSet: "config.set",
  configRestore: "config.restore",
  kedaFreeze: "keda.freeze",
  kedaThaw: "keda.thaw",
  holdsApply: "holds.apply",
  holdsRestore: "holds.restore",
  waveRelease: "wave.release",
  pulumiUp: "pulumi.up",
  pulumiClearPending: "pulumi.clear-pending",
  helmRollback: "helm.rollback",
  podsDelete: "pods.delete",
  // Decisions and evidence.
  policyVersion: "policy.version",
  chartChange: "chart.change",
  guardrails: "guardrails",
  verifyBaseline: "verify.baseline",
  waveGates: "wave.gates",
  verify: "verify",
  revertDecide: "revert.decide",
  revertVerify: "revert.verify",
  recoverBlocked: "recover.blocked",
  recoverReport: "recover.report",
} as const;
export type JournalAction = (typeof JOURNAL_ACTIONS)[keyof typeof JOURNAL_ACTIONS];

export interface JournalEntry {
  v: typeof JOURNAL_SCHEMA_VERSION;
  /** 1-based position in this run's journal. */
  seq: number;
  time: string;
  runId: string;
  stack: string;
  kind: JournalEntryKind;
  phase: RunPhase;
  /** Dotted name of the side effect or decision (JOURNAL_ACTIONS); older journals may hold others. */
  action?: string;
  message?: string;
  /** For "done": the seq of the intent it completes. */
  ref?: number;
  /** For "outcome": succeeded, reverted, refused, needs-attention, dry-run, failed, interrupted, recovered. */
  outcome?: string;
  /** For "start": the command that started the run. */
  command?: RunCommand | (string & {});
  data?: JsonValue;
}

export type JournalInput = Omit<JournalEntry, "v" | "seq" | "time" | "runId" | "stack">;

export interface JournalOptions {
  stateDir: string;
  stack: string;
  /** Values to redact wherever they appear (passphrase, HF token, kubeconfig content). */
  secrets?: readonly string[];
  now?: () => number;
}

/** A sortable, unique run id: `20260101T120000123Z-1a2b3c`. */
export function newRunId(now: number = Date.now()): string {
  const iso = new Date(now).toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${iso}-${randomBytes(3).toString("hex")}`;
}

export function journalDir(stateDir: string, stack: string): string {
  return path.join(stateDir, "journal", assertStackName(stack));
}

export function journalPath(stateDir: string, stack: string, runId: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(runId) || runId.startsWith(".")) {
    throw new InternalError(`run id "${runId}" is not a valid file name`);
  }
  return path.join(journalDir(stateDir, stack), `${runId}.jsonl`);
}

export class Journal {
  private seq: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    readonly runId: string,
    readonly stack: string,
    private readonly fh: fsp.FileHandle,
    private readonly secrets: readonly string[],
    private readonly now: () => number,
    lastSeq: number,
    /** True when the file did not end with a newline (a killed writer); the next write starts a new line. */
    private needsNewline: boolean,
  ) {
    this.seq = lastSeq;
  }

  /** Starts a new run's journal and writes its "start" entry. */
  static async create(opts: JournalOptions & { runId?: string; command: RunCommand | (string & {}); request?: JsonValue }): Promise<Journal> {
    const now = opts.now ?? Date.now;
    const runId = opts.runId ?? newRunId(now());
    const file = journalPath(opts.stateDir, opts.stack, runId);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_APPEND, 0o600);
    } catch (err) {
      throw new InternalError(`cannot create journal ${file}: ${(err as Error).message}`, { cause: err });
    }
    await syncDir(path.dirname(file));
    const j = new Journal(file, runId, opts.stack, fh, opts.secrets ?? [], now, 0, false);
    await j.append({ kind: "start", phase: "lock", command: opts.command, ...(opts.request !== undefined ? { data: opts.request } : {}) });
    return j;
  }

  /** Reopens an existing run's journal for appending (recover). */
  static async open(opts: JournalOptions & { runId: string }): Promise<Journal> {
    const now = opts.now ?? Date.now;
    const read = await readJournal(opts.stateDir, opts.stack, opts.runId);
    const fh = await fsp.open(read.path, fsConstants.O_WRONLY | fsConstants.O_APPEND);
    // A line cut short by a killed writer was never acknowledged (append resolves after fsync):
    // drop it, or it would sit between whole entries as a corrupt line once we append after it.
    if (read.truncated) {
      const text = await fsp.readFile(read.path, "utf8");
      await fh.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
      await fh.sync();
    }
    const last = read.entries.at(-1);
    return new Journal(read.path, opts.runId, opts.stack, fh, opts.secrets ?? [], now, last?.seq ?? 0, !read.truncated && !read.endsWithNewline);
  }

  /** Appends one entry and fsyncs it before resolving. Entries are written in call order. */
  append(input: JournalInput): Promise<JournalEntry> {
    if (this.closed) return Promise.reject(new InternalError(`journal ${this.path} is closed`));
    const entry: JournalEntry = redact(
      { v: JOURNAL_SCHEMA_VERSION, seq: ++this.seq, time: new Date(this.now()).toISOString(), runId: this.runId, stack: this.stack, ...input },
      this.secrets,
    );
    const write = this.queue.then(async () => {
      const prefix = this.needsNewline ? "\n" : "";
      this.needsNewline = false;
      await this.fh.write(`${prefix}${JSON.stringify(entry)}\n`);
      await this.fh.sync();
      return entry;
    });
    // Keep the chain alive after a failure so later appends still report their own error.
    this.queue = write.catch(() => undefined);
    return write;
  }

  /**
   * One journaled side effect: the intent (with `data`, what undoing the effect needs) is fsynced,
   * then `effect` runs, then a "done" entry references the intent. A process killed in between
   * leaves an intent without its done, so `recover` knows the effect may have happened.
   * `opts.done` picks what the done entry records from the effect's result.
   */
  async step<T>(
    phase: RunPhase,
    action: JournalAction,
    data: unknown,
    effect: () => T | Promise<T>,
    opts: { message?: string; done?: (result: T) => unknown } = {},
  ): Promise<T> {
    const intent = await this.writeBeforeSideEffect(phase, action, data, opts.message);
    const result = await effect();
    const done = opts.done?.(result);
    await this.append({ kind: "done", phase, action, ref: intent.seq, ...jsonData(done) });
    return result;
  }

  /** An intent alone, for an effect whose completion is not journaled (the caller awaits it, then acts). */
  writeBeforeSideEffect(phase: RunPhase, action: JournalAction, data: unknown, message?: string): Promise<JournalEntry> {
    return this.append({ kind: "intent", phase, action, ...(message !== undefined ? { message } : {}), ...jsonData(data) });
  }

  decision(phase: RunPhase, action: JournalAction, opts: { message?: string; data?: unknown } = {}): Promise<JournalEntry> {
    return this.append({ kind: "decision", phase, action, ...(opts.message !== undefined ? { message: opts.message } : {}), ...jsonData(opts.data) });
  }

  evidence(phase: RunPhase, action: JournalAction, data: unknown, message?: string): Promise<JournalEntry> {
    return this.append({ kind: "evidence", phase, action, ...(message !== undefined ? { message } : {}), ...jsonData(data) });
  }

  /** Writes the terminal entry. A run with one is finished; `incompleteRun` ignores it. */
  recordOutcome(outcome: RunOutcome, opts: { phase?: RunPhase; message?: string; data?: JsonValue } = {}): Promise<JournalEntry> {
    return this.append({
      kind: "outcome",
      phase: opts.phase ?? "done",
      outcome,
      ...(opts.message !== undefined ? { message: opts.message } : {}),
      ...(opts.data !== undefined ? { data: opts.data } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface JournalRead {
  runId: string;
  stack: string;
  path: string;
  entries: JournalEntry[];
  /** The last line was cut short (the writer was killed mid-append); it was skipped. */
  truncated: boolean;
  /** 1-based line numbers of unparsable lines other than a truncated last one. */
  corruptLines: number[];
  endsWithNewline: boolean;
}

export async function readJournal(stateDir: string, stack: string, runId: string): Promise<JournalRead> {
  const file = journalPath(stateDir, stack, runId);
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StackError("run-not-found", `no journal for run "${runId}" of stack "${stack}" at ${file}`, {
        hint: `sie-fleet history --stack ${stack}`,
      });
    }
    throw err;
  }
  return { runId, stack, path: file, ...parseJournalText(text) };
}

/** Parses JSONL, tolerating a partial last line. Exported for tests and support bundles. */
export function parseJournalText(text: string): Pick<JournalRead, "entries" | "truncated" | "corruptLines" | "endsWithNewline"> {
  const endsWithNewline = text.length === 0 || text.endsWith("\n");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const entries: JournalEntry[] = [];
  const corruptLines: number[] = [];
  let truncated = false;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const isLast = i === lines.length - 1;
    try {
      const parsed = JSON.parse(line) as JournalEntry;
      if (typeof parsed !== "object" || parsed === null || typeof parsed.seq !== "number" || typeof parsed.kind !== "string") {
        throw new Error("not a journal entry");
      }
      entries.push(parsed);
    } catch {
      if (isLast && !endsWithNewline) truncated = true;
      else corruptLines.push(i + 1);
    }
  });
  return { entries, truncated, corruptLines, endsWithNewline };
}

/** Run ids of a stack, oldest first. */
export async function listRuns(stateDir: string, stack: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(journalDir(stateDir, stack));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith(".jsonl"))
    .map((n) => n.slice(0, -".jsonl".length))
    .sort();
}

export async function lastRun(stateDir: string, stack: string): Promise<JournalRead | undefined> {
  const runs = await listRuns(stateDir, stack);
  const last = runs.at(-1);
  return last === undefined ? undefined : readJournal(stateDir, stack, last);
}

export function isComplete(read: Pick<JournalRead, "entries">): boolean {
  const last = read.entries.at(-1);
  return last?.kind === "outcome" && typeof last.outcome === "string" && (TERMINAL_OUTCOMES as readonly string[]).includes(last.outcome);
}

/** The newest run of `stack` that never wrote a terminal outcome (killed, crashed), if any. */
export async function incompleteRun(stateDir: string, stack: string): Promise<JournalRead | undefined> {
  const runs = await listRuns(stateDir, stack);
  for (const runId of runs.reverse()) {
    const read = await readJournal(stateDir, stack, runId);
    if (!isComplete(read)) return read;
  }
  return undefined;
}

/** Intents with no matching "done": side effects that may or may not have happened. */
export function unfinishedIntents(entries: readonly JournalEntry[]): JournalEntry[] {
  const done = new Set(entries.filter((e) => e.kind === "done" && e.ref !== undefined).map((e) => e.ref));
  return entries.filter((e) => e.kind === "intent" && !done.has(e.seq));
}

/** The latest intent for `action` (done or not): e.g. the KEDA prior annotations a thaw must restore. */
export function lastIntent(entries: readonly JournalEntry[], action: JournalAction): JournalEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e?.kind === "intent" && e.action === action) return e;
  }
  return undefined;
}

/** `{data}` as plain JSON (undefined fields dropped), or nothing when there is no data. */
function jsonData(data: unknown): { data?: JsonValue } {
  return data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) as JsonValue };
}

async function syncDir(dir: string): Promise<void> {
  // Makes the new file's directory entry durable; some filesystems refuse fsync on directories.
  try {
    const d = await fsp.open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
