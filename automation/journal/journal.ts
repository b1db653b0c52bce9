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
 *
 * With a SharedJournal (the run journal in the cluster, journal/clusterJournal.ts), every entry is also
 * written there, after the local fsync and before the side effect it announces, so `recover`,
 * `status` and `history` on any machine find the run. Readers merge both copies: the shared one
 * first, the local one filling in entries the shared place never got.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as path from "node:path";
import { InternalError, StackError } from "../../core/errors.js";
import { redact } from "../../core/redact.js";
import { assertStackName } from "../../core/stackName.js";
import { TERMINAL_OUTCOMES, type JsonValue, type RunCommand, type RunOutcome, type RunPhase } from "../../core/types.js";

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
  probeScale: "probe.scale",
  probeRestore: "probe.restore",
  // Decisions and evidence.
  policyVersion: "policy.version",
  chartChange: "chart.change",
  preflightCapacity: "preflight.capacity",
  preflightKeda: "preflight.keda",
  preflightReach: "preflight.reach",
  checksSkipped: "checks.skipped",
  guardrails: "guardrails",
  verifyBaseline: "verify.baseline",
  waveGates: "wave.gates",
  verify: "verify",
  verifyKeda: "verify.keda",
  revertDecide: "revert.decide",
  revertVerify: "revert.verify",
  recoverBlocked: "recover.blocked",
  recoverReport: "recover.report",
  policyPromotion: "policy.promotion",
  promotionOverride: "promotion.override",
} as const;
export type JournalAction = (typeof JOURNAL_ACTIONS)[keyof typeof JOURNAL_ACTIONS];

/**
 * Every side effect a run may journal, with what undoes it. `Journal.step` takes only these
 * actions, so a new side effect cannot be journaled without saying how it is undone; the one undo
 * (journal/undo.ts finds what is in effect, actions/upgrade/undo.ts acts on it) serves a failed
 * upgrade and `recover` alike.
 */
export const SIDE_EFFECTS = {
  [JOURNAL_ACTIONS.configSnapshot]: { undoneBy: null, why: "writes sie-fleet's own copy of the stack file; nothing of the stack changes" },
  [JOURNAL_ACTIONS.configSet]: { undoneBy: JOURNAL_ACTIONS.configRestore },
  [JOURNAL_ACTIONS.configRestore]: { undoneBy: null, why: "is itself an undo" },
  [JOURNAL_ACTIONS.kedaFreeze]: { undoneBy: JOURNAL_ACTIONS.kedaThaw },
  [JOURNAL_ACTIONS.kedaThaw]: { undoneBy: null, why: "is itself an undo" },
  [JOURNAL_ACTIONS.holdsApply]: { undoneBy: JOURNAL_ACTIONS.holdsRestore },
  [JOURNAL_ACTIONS.holdsRestore]: { undoneBy: null, why: "is itself an undo" },
  [JOURNAL_ACTIONS.pulumiUp]: { undoneBy: JOURNAL_ACTIONS.pulumiUp, why: "undone by applying the restored config snapshot again" },
  [JOURNAL_ACTIONS.waveRelease]: {
    undoneBy: JOURNAL_ACTIONS.pulumiUp,
    why: "the released pods roll back when the snapshot is applied again and the holds restored",
  },
  [JOURNAL_ACTIONS.probeScale]: { undoneBy: JOURNAL_ACTIONS.probeRestore },
  [JOURNAL_ACTIONS.probeRestore]: { undoneBy: null, why: "is itself an undo" },
  [JOURNAL_ACTIONS.pulumiClearPending]: {
    undoneBy: null,
    why: "repairs Pulumi's state after a killed update; the undo that follows applies the desired state",
  },
  [JOURNAL_ACTIONS.helmRollback]: { undoneBy: null, why: "repairs a Helm release a killed update left ahead of the Pulumi state" },
  [JOURNAL_ACTIONS.podsDelete]: { undoneBy: null, why: "the StatefulSet recreates the pods at the revision it targets" },
} as const satisfies Record<string, { undoneBy: JournalAction | null; why?: string }>;
export type SideEffectAction = keyof typeof SIDE_EFFECTS;

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
  /** Only in the shared copy: why `data` is shorter there than in the local journal. */
  trimmed?: string;
}

export type JournalInput = Omit<JournalEntry, "v" | "seq" | "time" | "runId" | "stack">;

export interface JournalOptions {
  stateDir: string;
  stack: string;
  /** Values to redact wherever they appear (passphrase, HF token, kubeconfig content). */
  secrets?: readonly string[];
  now?: () => number;
  /** Where every client of the stack finds the run too; a failed write there fails the append. */
  shared?: SharedJournal;
}

/**
 * A copy of every run's journal that every client of the stack can reach. Entries arrive
 * redacted; the store may shorten evidence to fit (marking it `trimmed`), never intents, done
 * entries or outcomes.
 */
export interface SharedJournal {
  /** Where the copies are kept, for messages. */
  readonly where: string;
  /** Every run of the stack kept there: run id → entries in seq order. */
  runs(): Promise<Map<string, JournalEntry[]>>;
  /** One run's entries; undefined when the shared place has none. */
  read(runId: string): Promise<JournalEntry[] | undefined>;
  /** Adds one entry to run `runId`; resolves once the shared copy holds it. */
  append(runId: string, entry: JournalEntry): Promise<void>;
  /** Keeps a file beside the run's entries, byte for byte (the stack's config snapshot). */
  attach(runId: string, name: string, bytes: Buffer): Promise<void>;
  attachment(runId: string, name: string): Promise<Buffer | undefined>;
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
  /** The run's entries so far, in order: what the undo reads to find what is in effect. */
  private readonly written: JournalEntry[];
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
    readonly shared: SharedJournal | undefined,
    earlier: readonly JournalEntry[] = [],
  ) {
    this.seq = lastSeq;
    this.written = [...earlier];
  }

  /** Every entry of the run this journal holds (for a reopened run, the earlier ones too). */
  get entries(): readonly JournalEntry[] {
    return this.written;
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
    const j = new Journal(file, runId, opts.stack, fh, opts.secrets ?? [], now, 0, false, opts.shared);
    await j.append({ kind: "start", phase: "lock", command: opts.command, ...(opts.request !== undefined ? { data: opts.request } : {}) });
    return j;
  }

  /**
   * Reopens an existing run's journal for appending (recover). With a shared copy, both copies
   * first get the entries only the other one has: a run started on another machine gets its local
   * file here, and entries the shared place never got are sent now. The caller holds the stack's
   * lock, so no one else writes this run meanwhile.
   */
  static async open(opts: JournalOptions & { runId: string }): Promise<Journal> {
    const now = opts.now ?? Date.now;
    const file = journalPath(opts.stateDir, opts.stack, opts.runId);
    const sharedEntries = opts.shared ? await opts.shared.read(opts.runId) : undefined;
    if (sharedEntries && !(await exists(file))) await writeNewJournalFile(file, sharedEntries);
    const read = await readJournal(opts.stateDir, opts.stack, opts.runId);
    const fh = await fsp.open(read.path, fsConstants.O_WRONLY | fsConstants.O_APPEND);
    // A line cut short by a killed writer was never acknowledged (append resolves after fsync):
    // drop it, or it would sit between whole entries as a corrupt line once we append after it.
    if (read.truncated) {
      const text = await fsp.readFile(read.path, "utf8");
      await fh.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
      await fh.sync();
    }
    let needsNewline = !read.truncated && !read.endsWithNewline;
    const localSeqs = new Set(read.entries.map((e) => e.seq));
    const onlyShared = (sharedEntries ?? []).filter((e) => !localSeqs.has(e.seq));
    if (onlyShared.length > 0) {
      await fh.write(`${needsNewline ? "\n" : ""}${onlyShared.map((e) => JSON.stringify(e)).join("\n")}\n`);
      await fh.sync();
      needsNewline = false;
    }
    if (opts.shared) {
      const sharedSeqs = new Set((sharedEntries ?? []).map((e) => e.seq));
      for (const e of read.entries) if (!sharedSeqs.has(e.seq)) await opts.shared.append(opts.runId, e);
    }
    const lastSeq = Math.max(0, ...read.entries.map((e) => e.seq), ...(sharedEntries ?? []).map((e) => e.seq));
    const earlier = [...read.entries, ...onlyShared].sort((a, b) => a.seq - b.seq);
    return new Journal(read.path, opts.runId, opts.stack, fh, opts.secrets ?? [], now, lastSeq, needsNewline, opts.shared, earlier);
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
      this.written.push(entry);
      await this.shared?.append(this.runId, entry);
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
    action: SideEffectAction,
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
  writeBeforeSideEffect(phase: RunPhase, action: SideEffectAction, data: unknown, message?: string): Promise<JournalEntry> {
    return this.append({ kind: "intent", phase, action, ...(message !== undefined ? { message } : {}), ...jsonData(data) });
  }

  decision(phase: RunPhase, action: JournalAction, opts: { message?: string; data?: unknown } = {}): Promise<JournalEntry> {
    return this.append({ kind: "decision", phase, action, ...(opts.message !== undefined ? { message: opts.message } : {}), ...jsonData(opts.data) });
  }

  evidence(phase: RunPhase, action: JournalAction, data: unknown, message?: string): Promise<JournalEntry> {
    return this.append({ kind: "evidence", phase, action, ...(message !== undefined ? { message } : {}), ...jsonData(data) });
  }

  /**
   * Keeps `bytes` beside the run in the shared place (a no-op without one), in order with the
   * entries: a "done" appended after this resolves is written after the file.
   */
  attach(name: string, bytes: Buffer): Promise<void> {
    const shared = this.shared;
    if (!shared) return Promise.resolve();
    const write = this.queue.then(() => shared.attach(this.runId, name, bytes));
    this.queue = write.catch(() => undefined);
    return write;
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
  /** The local journal file (it may not exist on this machine when `source` is "shared"). */
  path: string;
  entries: JournalEntry[];
  /** The last line was cut short (the writer was killed mid-append); it was skipped. */
  truncated: boolean;
  /** 1-based line numbers of unparsable lines other than a truncated last one. */
  corruptLines: number[];
  endsWithNewline: boolean;
  /** Which copies the entries came from. */
  source: "local" | "shared" | "both";
}

type LocalRead = Pick<JournalRead, "entries" | "truncated" | "corruptLines" | "endsWithNewline">;

async function readLocal(file: string): Promise<LocalRead | undefined> {
  try {
    return parseJournalText(await fsp.readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Entries of both copies by seq: the shared copy's where both have one, the local copy filling in the rest. */
export function mergeEntries(shared: readonly JournalEntry[], local: readonly JournalEntry[]): JournalEntry[] {
  const bySeq = new Map<number, JournalEntry>();
  for (const e of local) bySeq.set(e.seq, e);
  for (const e of shared) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function merged(stateDir: string, stack: string, runId: string, local: LocalRead | undefined, shared: readonly JournalEntry[] | undefined): JournalRead {
  const source = local && shared ? "both" : shared ? "shared" : "local";
  return {
    runId,
    stack,
    path: journalPath(stateDir, stack, runId),
    entries: mergeEntries(shared ?? [], local?.entries ?? []),
    truncated: local?.truncated ?? false,
    corruptLines: local?.corruptLines ?? [],
    endsWithNewline: local?.endsWithNewline ?? true,
    source,
  };
}

/** One run's journal, from the local file and the shared copy. */
export async function readJournal(stateDir: string, stack: string, runId: string, shared?: SharedJournal): Promise<JournalRead> {
  const file = journalPath(stateDir, stack, runId);
  const [local, fromShared] = await Promise.all([readLocal(file), shared?.read(runId)]);
  if (!local && !fromShared) {
    throw new StackError("run-not-found", `no journal for run "${runId}" of stack "${stack}" at ${file}${shared ? ` nor in ${shared.where}` : ""}`, {
      hint: `sie-fleet history --stack ${stack}`,
    });
  }
  return merged(stateDir, stack, runId, local, fromShared);
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

async function localRuns(stateDir: string, stack: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(journalDir(stateDir, stack));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names.filter((n) => n.endsWith(".jsonl")).map((n) => n.slice(0, -".jsonl".length));
}

/** Run ids of a stack in either copy, oldest first. */
export async function listRuns(stateDir: string, stack: string, shared?: SharedJournal): Promise<string[]> {
  const ids = new Set(await localRuns(stateDir, stack));
  if (shared) for (const id of (await shared.runs()).keys()) ids.add(id);
  return [...ids].sort();
}

/** Every run of a stack, oldest first, listing the shared place once. */
export async function readRuns(stateDir: string, stack: string, shared?: SharedJournal): Promise<JournalRead[]> {
  const reader = await runReader(stateDir, stack, shared);
  const out: JournalRead[] = [];
  for (const id of [...reader.ids].sort()) out.push(await reader.read(id));
  return out;
}

export async function lastRun(stateDir: string, stack: string, shared?: SharedJournal): Promise<JournalRead | undefined> {
  const reader = await runReader(stateDir, stack, shared);
  const last = [...reader.ids].sort().at(-1);
  return last === undefined ? undefined : reader.read(last);
}

export function isComplete(read: Pick<JournalRead, "entries">): boolean {
  const last = read.entries.at(-1);
  return last?.kind === "outcome" && typeof last.outcome === "string" && (TERMINAL_OUTCOMES as readonly string[]).includes(last.outcome);
}

/** The newest run of `stack` that never wrote a terminal outcome (killed, crashed), if any. */
export async function incompleteRun(stateDir: string, stack: string, shared?: SharedJournal): Promise<JournalRead | undefined> {
  const reader = await runReader(stateDir, stack, shared);
  for (const runId of [...reader.ids].sort().reverse()) {
    const read = await reader.read(runId);
    if (!isComplete(read)) return read;
  }
  return undefined;
}

/**
 * Sends the shared copy what only this machine's journal holds of runs finished here but not
 * there: their process ended between the local and the shared write of their last entries (a
 * kill, the cluster out of reach). Every other machine takes such a run for unfinished and would
 * recover it again, back to its old config snapshot, even after later runs. Runs the shared place
 * does not hold (pruned, never shared) are left alone. The caller holds the stack's lock. Returns
 * the ids of the runs it finished there.
 */
export async function shareFinishedRuns(stateDir: string, stack: string, shared: SharedJournal): Promise<string[]> {
  const sent: string[] = [];
  for (const [runId, entries] of [...(await shared.runs())].sort(([a], [b]) => a.localeCompare(b))) {
    if (isComplete({ entries })) continue;
    const local = await readLocal(journalPath(stateDir, stack, runId));
    if (!local || !isComplete({ entries: mergeEntries(entries, local.entries) })) continue;
    // Opening a run's journal with its shared copy sends the entries only the local file has.
    await (await Journal.open({ stateDir, stack, runId, shared })).close();
    sent.push(runId);
  }
  return sent;
}

/** The run ids of both copies, and a reader of one run that lists the shared place only once. */
async function runReader(
  stateDir: string,
  stack: string,
  shared: SharedJournal | undefined,
): Promise<{ ids: Set<string>; read(runId: string): Promise<JournalRead> }> {
  const sharedRuns = shared ? await shared.runs() : new Map<string, JournalEntry[]>();
  const ids = new Set([...(await localRuns(stateDir, stack)), ...sharedRuns.keys()]);
  return {
    ids,
    read: async (runId) => merged(stateDir, stack, runId, await readLocal(journalPath(stateDir, stack, runId)), sharedRuns.get(runId)),
  };
}

/** `{data}` as plain JSON (undefined fields dropped), or nothing when there is no data. */
function jsonData(data: unknown): { data?: JsonValue } {
  return data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) as JsonValue };
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

/** A run's local journal written whole from the shared copy (a run started on another machine). */
async function writeNewJournalFile(file: string, entries: readonly JournalEntry[]): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const fh = await fsp.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await fh.writeFile(entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDir(path.dirname(file));
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
