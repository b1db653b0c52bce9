// `sie-fleet recover`: finish or undo a run that was killed. A run whose final verification
// passed is finished (holds restored, KEDA thawed); any other run that changed something is
// reverted to its config snapshot. Every mutating command calls this first.
import * as fs from "node:fs";
import type { ConfigSnapshot } from "../engine/configFile.js";
import { ProgressEmitter } from "../events/emitter.js";
import { incompleteRun, Journal, lastIntent, newRunId, type JournalEntry } from "../journal.js";
import { acquireLock } from "../lock.js";
import { pulumiLocks } from "../engine/pulumiLocks.js";
import type { HoldRecord, KedaFreezeRecord } from "../kube/index.js";
import { assertStackName } from "../stackName.js";
import type { ActionContext } from "../types.js";
import { loadStackContext, type StackContext } from "./context.js";
import { revertToSnapshot } from "./revert.js";
import { stackTarget } from "./target.js";

export interface RecoverOptions {
  stack: string;
}

export interface RecoverReport {
  stack: string;
  /** The run that was recovered, if one was incomplete. */
  runId?: string;
  /** What recovery did: nothing, finished the new version, or reverted to the snapshot. */
  action: "none" | "finished" | "reverted" | "released-lock" | "needs-attention";
  message: string;
}

function entryData<T>(e: JournalEntry | undefined): T | undefined {
  return e?.data as T | undefined;
}

function doneFor(entries: readonly JournalEntry[], action: string): JournalEntry | undefined {
  const intent = lastIntent(entries, action);
  return intent ? entries.find((e) => e.kind === "done" && e.ref === intent.seq) : undefined;
}

/** Removes Pulumi's file-backend locks left by CLI processes that no longer exist. */
function clearStalePulumiLocks(sc: StackContext, emit: ProgressEmitter): void {
  const stale = pulumiLocks(sc.open).filter((l) => !l.alive);
  for (const l of stale) fs.rmSync(l.file, { force: true });
  if (stale.length) emit.log("warn", "recover", `removed ${stale.length} Pulumi stack lock(s) left by a killed process`);
}

/** Recovers the stack's newest incomplete run, if any. The caller holds the sie-fleet lock. */
export async function recoverIfNeeded(stack: string, ctx: ActionContext, emit: ProgressEmitter): Promise<RecoverReport> {
  const read = await incompleteRun(ctx.stateDir, stack);
  if (!read) return { stack, action: "none", message: `no unfinished run for stack ${stack}` };
  const entries = read.entries;
  emit.phase("recover", "started", `run ${read.runId} did not finish (last phase: ${entries.at(-1)?.phase ?? "?"}); recovering it`);
  const sc = await loadStackContext(stackTarget(stack, ctx));
  clearStalePulumiLocks(sc, emit);
  const journal = await Journal.open({ stateDir: ctx.stateDir, stack, runId: read.runId, secrets: sc.secrets });
  try {
    const snapDone = doneFor(entries, "config.snapshot");
    const snapshot = entryData<ConfigSnapshot & { previousTag: string }>(snapDone);
    const freeze = entryData<KedaFreezeRecord>(lastIntent(entries, "keda.freeze"));
    const thawed = doneFor(entries, "keda.thaw") !== undefined;
    const holds = entryData<HoldRecord>(lastIntent(entries, "holds.apply"));
    const verified = entries.some((e) => e.kind === "evidence" && e.action === "verify" && Array.isArray(e.data) && (e.data as { status?: string }[]).every((g) => g.status !== "fail"));

    const thaw = async () => {
      if (freeze && !thawed) {
        await journal.append({ kind: "intent", phase: "thaw", action: "keda.thaw", data: JSON.parse(JSON.stringify(freeze)) });
        await sc.kube.thawKeda(freeze);
        emit.phase("thaw", "succeeded", "KEDA thawed");
      }
    };

    if (!snapshot) {
      await journal.append({ kind: "outcome", phase: "recover", outcome: "recovered", message: "nothing had changed yet" });
      emit.phase("recover", "succeeded", "the run had changed nothing; marked recovered");
      return { stack, runId: read.runId, action: "none", message: "the killed run had changed nothing" };
    }
    if (verified) {
      if (holds) await sc.kube.restoreHolds(holds);
      await thaw();
      await journal.append({ kind: "outcome", phase: "recover", outcome: "recovered", message: "finished: the new version had verified" });
      emit.phase("recover", "succeeded", "the new version had verified; holds restored and KEDA thawed");
      return { stack, runId: read.runId, action: "finished", message: "finished the verified upgrade" };
    }
    let out;
    try {
      out = await revertToSnapshot(sc, journal, emit, { snapshot, ...(holds ? { holds } : {}), badRevisions: {}, previousTag: snapshot.previousTag });
    } finally {
      await thaw().catch((err) => emit.log("error", "thaw", `KEDA thaw failed: ${(err as Error).message}`));
    }
    if (!out.ok) {
      await journal.append({ kind: "outcome", phase: "recover", outcome: "needs-attention", message: out.error ?? "revert failed" });
      return { stack, runId: read.runId, action: "needs-attention", message: out.error ?? "revert failed" };
    }
    await journal.append({ kind: "outcome", phase: "recover", outcome: "recovered", message: `reverted to ${snapshot.previousTag}` });
    return { stack, runId: read.runId, action: "reverted", message: `reverted the unfinished run to ${snapshot.previousTag}` };
  } finally {
    await journal.close();
  }
}

export async function recover(opts: RecoverOptions, ctx: ActionContext): Promise<RecoverReport> {
  assertStackName(opts.stack);
  const runId = newRunId();
  const emit = new ProgressEmitter(ctx.reporter, runId);
  const lock = await acquireLock({ stateDir: ctx.stateDir, stack: opts.stack, runId, command: "recover", onWarning: (m) => emit.log("warn", "lock", m) });
  try {
    const report = await recoverIfNeeded(opts.stack, ctx, emit);
    emit.outcome(report.action === "needs-attention" ? "needs-attention" : "recovered", report.action === "needs-attention" ? 6 : 0, report.message);
    return report;
  } finally {
    await lock.release();
  }
}
export type RecoverResult = RecoverReport;
