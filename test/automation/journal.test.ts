import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recoverIfNeeded } from "../../automation/actions/recover.js";
import { ProgressEmitter } from "../../automation/events/emitter.js";
import {
  incompleteRun,
  isComplete,
  Journal,
  JOURNAL_ACTIONS,
  lastRun,
  listRuns,
  mergeEntries,
  newRunId,
  parseJournalText,
  readJournal,
  type JournalEntry,
  type SharedJournal,
} from "../../automation/journal/journal.js";
import { inEffect } from "../../automation/journal/undo.js";

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "sie-journal-"));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

let t = Date.parse("2026-01-01T12:00:00Z");
const now = (): number => (t += 1000);

describe("Journal", () => {
  it("appends JSONL with increasing seq, intent before done, outcome last", async () => {
    const j = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade", request: { to: "v0.3.2" }, now });
    const lines = async () => (await fsp.readFile(j.path, "utf8")).trim().split("\n").length;
    const during = await j.step("freeze", JOURNAL_ACTIONS.kedaFreeze, { prior: { a: null } }, lines, { done: (n) => ({ linesDuringEffect: n }) });
    expect(during).toBe(2);
    await j.decision("preflight", JOURNAL_ACTIONS.policyVersion, { message: "allowed" });
    await j.recordOutcome("succeeded");
    await j.close();

    const text = await fsp.readFile(j.path, "utf8");
    expect(text.trim().split("\n")).toHaveLength(5);
    expect(j.path).toBe(path.join(dir, "journal", "dev", `${j.runId}.jsonl`));
    const read = await readJournal(dir, "dev", j.runId);
    expect(read.entries.map((e) => [e.seq, e.kind])).toEqual([
      [1, "start"],
      [2, "intent"],
      [3, "done"],
      [4, "decision"],
      [5, "outcome"],
    ]);
    expect(read.entries[1]).toMatchObject({ kind: "intent", phase: "freeze", action: "keda.freeze", data: { prior: { a: null } } });
    expect(read.entries[2]).toMatchObject({ kind: "done", phase: "freeze", action: "keda.freeze", ref: 2, data: { linesDuringEffect: 2 } });
    expect(read.entries[0]).toMatchObject({ v: 1, runId: j.runId, stack: "dev", command: "upgrade", data: { to: "v0.3.2" } });
    expect(isComplete(read)).toBe(true);
  });

  it("keeps call order for appends that are not awaited one by one", async () => {
    const j = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade" });
    await Promise.all(Array.from({ length: 20 }, (_, i) => j.decision("wave", JOURNAL_ACTIONS.waveGates, { message: `m${i}` })));
    await j.close();
    const read = await readJournal(dir, "dev", j.runId);
    expect(read.entries.slice(1).map((e) => e.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it("redacts everything it writes", async () => {
    const j = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade", secrets: ["s3cr3t-passphrase"] });
    await j.decision("snapshot", JOURNAL_ACTIONS.configSnapshot, {
      message: "using s3cr3t-passphrase",
      data: { hfToken: "hf_abc", kubeconfig: "clusters: []", tag: "v0.3.1" },
    });
    await j.close();
    const text = await fsp.readFile(j.path, "utf8");
    expect(text).not.toContain("s3cr3t-passphrase");
    expect(text).not.toContain("hf_abc");
    expect(text).not.toContain("clusters: []");
    expect(text).toContain("v0.3.1");
  });

  it("survives a truncated last line (killed writer) and reopens for recover", async () => {
    const j = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade" });
    const intent = await j.writeBeforeSideEffect("hold", JOURNAL_ACTIONS.holdsApply, { statefulSets: ["sie-worker-l4"] });
    await j.close();
    // The process died halfway through writing the next entry.
    await fsp.appendFile(j.path, '{"v":1,"seq":3,"kind":"do');

    const read = await readJournal(dir, "dev", j.runId);
    expect(read.truncated).toBe(true);
    expect(read.corruptLines).toEqual([]);
    expect(read.entries).toHaveLength(2);
    expect(isComplete(read)).toBe(false);
    expect(read.entries.at(-1)).toMatchObject({ seq: intent.seq, kind: "intent" });
    // An intent without its done may have happened: the undo treats it as in effect.
    expect(inEffect(read.entries).holds).toEqual({ statefulSets: ["sie-worker-l4"] });

    const inc = await incompleteRun(dir, "dev");
    expect(inc?.runId).toBe(j.runId);

    const resumed = await Journal.open({ stateDir: dir, stack: "dev", runId: j.runId });
    await resumed.recordOutcome("recovered");
    await resumed.close();
    const after = await readJournal(dir, "dev", j.runId);
    // The partial line was never acknowledged: reopening drops it, so the journal stays whole.
    expect(after.truncated).toBe(false);
    expect(after.corruptLines).toEqual([]);
    expect(await fsp.readFile(j.path, "utf8")).not.toContain('"kind":"do\n');
    expect(after.entries.at(-1)).toMatchObject({ seq: 3, kind: "outcome", outcome: "recovered" });
    expect(await incompleteRun(dir, "dev")).toBeUndefined();
  });

  it("lists runs oldest first; lastRun and incompleteRun pick the right ones", async () => {
    const a = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade", runId: newRunId(Date.parse("2026-01-01T00:00:00Z")) });
    await a.close(); // never finished
    const b = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade", runId: newRunId(Date.parse("2026-01-02T00:00:00Z")) });
    await b.recordOutcome("reverted");
    await b.close();
    expect(await listRuns(dir, "dev")).toEqual([a.runId, b.runId]);
    expect((await lastRun(dir, "dev"))?.runId).toBe(b.runId);
    expect((await incompleteRun(dir, "dev"))?.runId).toBe(a.runId);
    expect(await listRuns(dir, "other")).toEqual([]);
    expect(await lastRun(dir, "other")).toBeUndefined();
  });

  it("refuses stack names that would escape the state dir", async () => {
    await expect(Journal.create({ stateDir: dir, stack: "../evil", command: "upgrade" })).rejects.toThrow(/not a valid stack name/);
  });

  it("parseJournalText counts a corrupt middle line without losing the rest", () => {
    const r = parseJournalText('{"seq":1,"kind":"start"}\ngarbage\n{"seq":2,"kind":"outcome","outcome":"succeeded"}\n');
    expect(r.entries).toHaveLength(2);
    expect(r.corruptLines).toEqual([2]);
    expect(r.truncated).toBe(false);
  });

  it("mergeEntries takes the shared copy's entry where both have one and fills in from the local copy", () => {
    const e = (seq: number, kind: string, extra: object = {}) => ({ v: 1, seq, time: "t", runId: "r", stack: "dev", kind, phase: "wave", ...extra }) as never;
    const shared = [e(1, "start"), e(2, "evidence", { trimmed: "summarized" }), e(4, "outcome")];
    const local = [e(1, "start"), e(2, "evidence"), e(3, "intent")];
    const merged = mergeEntries(shared, local);
    expect(merged.map((x) => `${x.seq}:${x.kind}${x.trimmed ? ":trimmed" : ""}`)).toEqual(["1:start", "2:evidence:trimmed", "3:intent", "4:outcome"]);
  });
});

/** A shared place in memory; `failing` makes writes fail as a killed process's or an unreachable cluster's would. */
class MemoryShared implements SharedJournal {
  readonly where = "memory";
  readonly store = new Map<string, JournalEntry[]>();
  failing = false;
  async runs() {
    return new Map([...this.store].map(([id, es]) => [id, [...es]]));
  }
  async read(runId: string) {
    const es = this.store.get(runId);
    return es ? [...es] : undefined;
  }
  async append(runId: string, entry: JournalEntry) {
    if (this.failing) throw new Error("the cluster is gone");
    this.store.set(runId, [...(this.store.get(runId) ?? []), entry]);
  }
  async attach() {}
  async attachment() {
    return undefined;
  }
}

describe("a run finished here whose end never reached the shared copy", () => {
  it("looks unfinished to every other machine until the next changing command here sends it", async () => {
    const shared = new MemoryShared();
    const killed = await Journal.create({ stateDir: dir, stack: "dev", command: "upgrade", shared, now });
    await killed.writeBeforeSideEffect("freeze", JOURNAL_ACTIONS.kedaFreeze, { prior: {} });
    await killed.close();
    // A recover of the killed run writes its outcome here, then dies before the shared write.
    const recovering = await Journal.open({ stateDir: dir, stack: "dev", runId: killed.runId, shared, now });
    shared.failing = true;
    await expect(recovering.recordOutcome("recovered", { phase: "recover" })).rejects.toThrow(/cluster is gone/);
    await recovering.close();
    shared.failing = false;

    const elsewhere = await fsp.mkdtemp(path.join(os.tmpdir(), "sie-journal-elsewhere-"));
    try {
      expect(await incompleteRun(dir, "dev", shared)).toBeUndefined();
      expect((await incompleteRun(elsewhere, "dev", shared))?.runId).toBe(killed.runId);

      const ctx = { stateDir: dir, reporter: { emit: () => undefined }, secrets: [], yes: true, nonInteractive: true, verbose: false };
      const report = await recoverIfNeeded("dev", ctx, new ProgressEmitter(ctx.reporter, "r"), shared);
      expect(report.action).toBe("none");
      expect(shared.store.get(killed.runId)?.at(-1)).toMatchObject({ seq: 3, kind: "outcome", outcome: "recovered" });
      expect(await incompleteRun(elsewhere, "dev", shared)).toBeUndefined();
    } finally {
      await fsp.rm(elsewhere, { recursive: true, force: true });
    }
  });
});
