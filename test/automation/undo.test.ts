import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_ACTIONS, SIDE_EFFECTS, type JournalEntry } from "../../automation/journal/journal.js";
import { inEffect } from "../../automation/journal/undo.js";
import type { ProbeRecord } from "../../automation/kube/index.js";
import { REPO_ROOT } from "../../core/paths.js";

let seq = 0;
const entry = (kind: JournalEntry["kind"], action: string, data?: unknown, ref?: number): JournalEntry =>
  ({
    v: 1,
    seq: ++seq,
    time: "",
    runId: "r",
    stack: "s",
    kind,
    phase: "wave",
    action,
    ...(data !== undefined ? { data } : {}),
    ...(ref ? { ref } : {}),
  }) as JournalEntry;
const rec = (pool: string): ProbeRecord => ({ namespace: "sie", pool, statefulSet: `sie-worker-${pool}`, replicas: 0, probeReplicas: 1 });

describe("what a run has in effect, from its journal", () => {
  it("every side effect the code journals says what undoes it", () => {
    // Journal.step takes only SIDE_EFFECTS' actions (a type error otherwise); this also catches an
    // action passed as a string the type system cannot see.
    const used = new Set<string>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".ts")) {
          for (const m of fs.readFileSync(p, "utf8").matchAll(/\.(?:step|writeBeforeSideEffect)\(\s*[^,]+,\s*JOURNAL_ACTIONS\.(\w+)/g)) used.add(m[1]!);
        }
      }
    };
    walk(path.join(REPO_ROOT, "automation"));
    expect(used.size).toBeGreaterThan(5);
    for (const key of used) expect(Object.keys(SIDE_EFFECTS)).toContain(JOURNAL_ACTIONS[key as keyof typeof JOURNAL_ACTIONS]);
    for (const [action, s] of Object.entries(SIDE_EFFECTS)) {
      if (s.undoneBy === null) expect((s as { why?: string }).why, `${action}: say why nothing undoes it`).toBeTruthy();
      else expect(Object.keys(SIDE_EFFECTS)).toContain(s.undoneBy);
    }
  });

  it("a run killed before its snapshot changed nothing", () => {
    seq = 0;
    const state = inEffect([entry("start", "")]);
    expect(state).toEqual({ probes: [], applied: false, verified: false });
  });

  it("freeze and holds are in effect until their undo is done; an undo killed halfway is not done", () => {
    seq = 0;
    const entries = [
      entry("intent", JOURNAL_ACTIONS.configSnapshot, { file: "f" }),
      entry("done", JOURNAL_ACTIONS.configSnapshot, { file: "f", sha256: "x", previousTag: "v1" }, 1),
      entry("intent", JOURNAL_ACTIONS.kedaFreeze, { entries: [{ name: "a" }] }),
      entry("done", JOURNAL_ACTIONS.kedaFreeze, undefined, 3),
      entry("intent", JOURNAL_ACTIONS.holdsApply, { statefulSets: ["w"] }),
      entry("done", JOURNAL_ACTIONS.holdsApply, undefined, 5),
      entry("intent", JOURNAL_ACTIONS.pulumiUp),
      entry("intent", JOURNAL_ACTIONS.holdsRestore, { statefulSets: ["w"] }),
      entry("done", JOURNAL_ACTIONS.holdsRestore, undefined, 8),
      // Killed while thawing: no done.
      entry("intent", JOURNAL_ACTIONS.kedaThaw, { entries: [{ name: "a" }] }),
    ];
    const state = inEffect(entries);
    expect(state.snapshot).toEqual({ file: "f", sha256: "x", previousTag: "v1" });
    expect(state.freeze).toEqual({ entries: [{ name: "a" }] });
    expect(state.holds).toBeUndefined();
    expect(state.applied).toBe(true);
    expect(inEffect([...entries, entry("done", JOURNAL_ACTIONS.kedaThaw, undefined, 10)]).freeze).toBeUndefined();
  });

  it("probes are put back pool by pool", () => {
    seq = 0;
    const entries = [
      entry("intent", "probe.scale", rec("cpu")),
      entry("done", "probe.scale", undefined, 1),
      entry("intent", "probe.restore", rec("cpu")),
      entry("done", "probe.restore", undefined, 3),
      entry("intent", "probe.scale", rec("big")),
      // Killed while putting big back: its restore has no done, so it is still in effect.
      entry("intent", "probe.restore", rec("big")),
    ];
    expect(inEffect(entries).probes).toEqual([rec("big")]);
  });

  it("a final verification with no failed gate makes the run one to finish, not undo", () => {
    seq = 0;
    expect(inEffect([entry("evidence", JOURNAL_ACTIONS.verify, [{ status: "pass" }, { status: "warn" }])]).verified).toBe(true);
    expect(inEffect([entry("evidence", JOURNAL_ACTIONS.verify, [{ status: "pass" }, { status: "fail" }])]).verified).toBe(false);
  });
});
