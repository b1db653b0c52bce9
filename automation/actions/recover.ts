// `sie-fleet recover`: finish or undo a run that was killed. A run whose final verification
// passed is finished (holds restored, KEDA thawed); any other run that changed something is
// reverted to its config snapshot. Every mutating command calls this first.
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256, type ConfigSnapshot } from "../engine/configFile.js";
import { Cleanups } from "../../core/cleanups.js";
import { EXIT_CODES, type LockHolder } from "../../core/errors.js";
import { ProgressEmitter } from "../events/emitter.js";
import { incompleteRun, Journal, JOURNAL_ACTIONS, newRunId, shareFinishedRuns, type SharedJournal } from "../journal/journal.js";
import { CONFIG_SNAPSHOT_FILE, CONFIG_TARGET_FILE } from "../journal/clusterJournal.js";
import { acquireLock } from "../locks/fileLock.js";
import { pulumiLocks, removePulumiLock, waitForLivePulumiLocks } from "../locks/pulumiLocks.js";
import { TIMEOUTS } from "../../core/defaults.js";
import { helmRevisions, helmRollback } from "../kube/helmRelease.js";
import { ensureKubernetesTools } from "../engine/kubernetesPlugin.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext } from "../../core/types.js";
import { lockCluster } from "../locks/clusterLock.js";
import { isNotDeployed, loadStackContext, type StackContext } from "./context.js";
import { finishRun, thawReportingFailure, undoRun } from "./upgrade/undo.js";
import { inEffect } from "../journal/undo.js";
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
  /** The holder whose lock in the cluster this recover took over (it had stopped renewing, or its process is gone). */
  tookOverLock?: LockHolder;
}

/** Removes Pulumi's file-backend locks left by CLI processes that no longer exist. */
function clearStalePulumiLocks(sc: StackContext, emit: ProgressEmitter): void {
  const stale = pulumiLocks(sc.open).filter((l) => !l.alive);
  for (const l of stale) removePulumiLock(l);
  if (stale.length) emit.log("warn", "recover", `removed ${stale.length} Pulumi stack lock(s) left by a killed process`);
}

/** A Helm release as the Pulumi state records it. */
interface RecordedRelease {
  name: string;
  namespace: string;
  revision: number;
}

const HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";

/**
 * A `pulumi up` killed mid-update leaves pending operations in the checkpoint; Pulumi refuses
 * nothing because of them but they stay until someone clears them, and our preflight refuses
 * to upgrade over them. sie-fleet's updates only ever update the release in place, so the revert
 * (or nothing, when the run never applied) re-applies the desired state: dropping them is safe.
 * What was dropped is journaled first. Returns the Helm releases whose update was cut off.
 */
async function clearPendingOperations(sc: StackContext, journal: Journal, emit: ProgressEmitter): Promise<RecordedRelease[]> {
  const exported = await sc.open.stack.exportStack();
  const deployment = exported.deployment as {
    pending_operations?: { type?: string; resource?: { urn?: string } }[];
    resources?: { urn: string; outputs?: { name?: string; namespace?: string; status?: { revision?: number } } }[];
  };
  const pending = deployment.pending_operations ?? [];
  if (pending.length === 0) return [];
  const ops = pending.map((p) => ({ type: p.type ?? "?", urn: p.resource?.urn ?? "?" }));
  await journal.step("recover", JOURNAL_ACTIONS.pulumiClearPending, { operations: ops }, () =>
    sc.open.stack.importStack({ ...exported, deployment: { ...deployment, pending_operations: [] } }),
  );
  emit.log(
    "warn",
    "recover",
    `cleared ${ops.length} pending operation(s) left by the killed pulumi up: ${ops.map((o) => `${o.type} ${o.urn.split("::").pop()}`).join(", ")}`,
  );
  return ops.flatMap((o) => {
    const out = o.type === "updating" && o.urn.includes(`::${HELM_RELEASE_TYPE}::`) ? deployment.resources?.find((r) => r.urn === o.urn)?.outputs : undefined;
    const revision = out?.status?.revision;
    return out?.name && out.namespace && typeof revision === "number" ? [{ name: out.name, namespace: out.namespace, revision }] : [];
  });
}

/**
 * A `pulumi up` killed while Helm upgraded the release leaves Helm ahead of the Pulumi state: a
 * newer revision, already applied to the cluster, maybe still `pending-upgrade` (Helm then refuses
 * every upgrade). Pulumi compares the snapshot's config with the state, finds nothing to change,
 * and a revert would leave the new version running. Helm's own rollback to the revision the state
 * records makes the cluster what the state says and ends the pending revision; the revert goes on
 * from there.
 */
async function rollBackUnrecordedRevisions(sc: StackContext, releases: RecordedRelease[], journal: Journal, emit: ProgressEmitter): Promise<void> {
  for (const rel of releases) {
    const newest = (await helmRevisions(sc.kube.api, rel.namespace, rel.name))[0];
    if (!newest || newest.version <= rel.revision) continue;
    const { helmBin } = await ensureKubernetesTools();
    await journal.step("recover", JOURNAL_ACTIONS.helmRollback, { release: rel.name, namespace: rel.namespace, from: newest, to: rel.revision }, () =>
      helmRollback(sc.kube.api, helmBin, rel.namespace, rel.name, rel.revision),
    );
    emit.log(
      "warn",
      "recover",
      `Helm release ${rel.namespace}/${rel.name} was at revision ${newest.version} (${newest.status}), which the killed pulumi up never recorded; rolled it back to revision ${rel.revision}, the one the Pulumi state records`,
    );
  }
}

/**
 * The run's config snapshot as a file on this machine: the one it wrote, or (a run started on
 * another machine) the copy kept beside its shared journal, written into this state dir.
 */
async function localSnapshot(
  snapshot: ConfigSnapshot,
  ctx: ActionContext,
  stack: string,
  runId: string,
  shared: SharedJournal | undefined,
): Promise<ConfigSnapshot | undefined> {
  if (fs.existsSync(snapshot.file)) return snapshot;
  const bytes = await shared?.attachment(runId, CONFIG_SNAPSHOT_FILE);
  if (!bytes || sha256(bytes) !== snapshot.sha256) return undefined;
  const file = path.join(ctx.stateDir, "snapshots", stack, `${runId}.yaml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes, { mode: 0o600 });
  return { file, sha256: snapshot.sha256 };
}

/**
 * Finishing a run started on another machine: this machine's stack file still says what the run
 * found, so it gets what the run set (as on the machine that started it). A file that is neither
 * is somebody's edit and is left alone.
 */
async function takeTargetConfig(
  sc: StackContext,
  snapshot: ConfigSnapshot,
  runId: string,
  shared: SharedJournal | undefined,
  emit: ProgressEmitter,
): Promise<void> {
  const target = await shared?.attachment(runId, CONFIG_TARGET_FILE);
  if (!target) return;
  const current = fs.readFileSync(sc.open.configFile);
  if (current.equals(target)) return;
  if (sha256(current) !== snapshot.sha256) {
    emit.log("warn", "recover", `${sc.open.configFile} differs from both the config the run found and the one it set; left as it is`);
    return;
  }
  fs.writeFileSync(sc.open.configFile, target);
  emit.log("info", "recover", `${sc.open.configFile} now holds the config the finished run set (as on the machine that started it)`);
}

/** Recovers the stack's newest incomplete run, if any. The caller holds the stack's locks; `shared` is the journal's shared copy. */
export async function recoverIfNeeded(stack: string, ctx: ActionContext, emit: ProgressEmitter, shared?: SharedJournal): Promise<RecoverReport> {
  // Merged with this machine's journal such a run looks finished, so nothing below would ever
  // send its end; other machines would recover it again.
  const sent = shared ? await shareFinishedRuns(ctx.stateDir, stack, shared) : [];
  if (sent.length) emit.log("warn", "recover", `run(s) ${sent.join(", ")} had ended here without their last entries reaching ${shared?.where}; sent them now`);
  let read = await incompleteRun(ctx.stateDir, stack, shared);
  // A recover run killed between its start and its outcome changed nothing of its own (what it
  // did is journaled in the run it recovered): close it and look further back.
  while (read && read.entries[0]?.command === "recover") {
    const stale = await Journal.open({ stateDir: ctx.stateDir, stack, runId: read.runId, secrets: ctx.secrets, ...(shared ? { shared } : {}) });
    await stale.recordOutcome("interrupted", { phase: "recover", message: "the recover run was killed; its work is journaled in the run it recovered" });
    await stale.close();
    read = await incompleteRun(ctx.stateDir, stack, shared);
  }
  if (!read) return { stack, action: "none", message: `no unfinished run for stack ${stack}` };
  const entries = read.entries;
  const origin = read.source === "shared" ? ` (started on another machine; journal read from ${shared?.where ?? "the shared place"})` : "";
  emit.phase("recover", "started", `run ${read.runId} did not finish (last phase: ${entries.at(-1)?.phase ?? "?"})${origin}; recovering it`);
  const sc = await loadStackContext(stackTarget(stack, ctx));
  const journal = await Journal.open({ stateDir: ctx.stateDir, stack, runId: read.runId, secrets: sc.secrets, ...(shared ? { shared } : {}) });
  try {
    // The killed CLI's `pulumi up` may still run as an orphan: let it end before we touch the stack.
    const live = await waitForLivePulumiLocks(sc.open, {
      timeoutMs: TIMEOUTS.orphanedPulumiMs,
      onWait: (l) =>
        emit.log(
          "warn",
          "recover",
          `waiting for a Pulumi operation still running on the stack (pid ${l.map((x) => x.pid ?? "?").join(", ")}), left by the killed run`,
        ),
    });
    if (live.length > 0) {
      const message = `a Pulumi operation still holds stack ${stack} (pid ${live.map((x) => x.pid ?? "?").join(", ")}); stop it, then run sie-fleet recover --stack ${stack} again`;
      await journal.decision("recover", JOURNAL_ACTIONS.recoverBlocked, { message });
      return { stack, runId: read.runId, action: "needs-attention", message };
    }
    clearStalePulumiLocks(sc, emit);
    await rollBackUnrecordedRevisions(sc, await clearPendingOperations(sc, journal, emit), journal, emit);
    // What the killed run changed and did not put back, from its journal: the same undo as a
    // failing run's own (upgrade/undo.ts).
    const state = inEffect(journal.entries);
    const recorded = state.snapshot;
    if (!recorded) {
      await journal.recordOutcome("recovered", { phase: "recover", message: "nothing had changed yet" });
      emit.phase("recover", "succeeded", "the run had changed nothing; marked recovered");
      return { stack, runId: read.runId, action: "none", message: "the killed run had changed nothing" };
    }
    const attention = async (message: string): Promise<RecoverReport> => {
      await journal.recordOutcome("needs-attention", { phase: "recover", message });
      return { stack, runId: read.runId, action: "needs-attention", message };
    };
    if (state.verified) {
      await finishRun(sc, journal, emit, "recover");
      await takeTargetConfig(sc, recorded, read.runId, shared, emit);
      await journal.recordOutcome("recovered", { phase: "recover", message: "finished: the new version had verified" });
      emit.phase("recover", "succeeded", "the new version had verified; holds restored and KEDA thawed");
      return { stack, runId: read.runId, action: "finished", message: "finished the verified upgrade" };
    }
    const local = await localSnapshot(recorded, ctx, stack, read.runId, shared);
    if (!local) {
      // A thaw that failed leaves pools frozen: that needs a person, whatever else went well.
      const thawError = await thawReportingFailure(sc, journal, emit);
      return attention(
        `the config snapshot of run ${read.runId} is not on this machine (${recorded.file}) nor${shared ? ` beside its journal in ${shared.where}` : " in a shared place"}; restore ${sc.open.configFile} to the config the stack had before that run (image ${recorded.previousTag}), then run recover again${thawError ? `; ${thawError}` : ""}`,
      );
    }
    const snapshot = { ...local, previousTag: recorded.previousTag };
    const out = await undoRun(sc, journal, emit, { phase: "recover", snapshot, previousTag: snapshot.previousTag });
    if (!out.ok) return attention(out.error ?? out.thawError ?? "revert failed");
    if (!out.reapplied) {
      const message = `nothing had been applied; config restored to ${snapshot.previousTag}${out.liftedHolds ? ", holds lifted" : ""}${out.thawed ? ", KEDA thawed" : ""}`;
      await journal.recordOutcome("recovered", { phase: "recover", message });
      emit.phase("recover", "succeeded", message);
      return { stack, runId: read.runId, action: "reverted", message: `reverted the unfinished run to ${snapshot.previousTag}: ${message}` };
    }
    await journal.recordOutcome("recovered", { phase: "recover", message: `reverted to ${snapshot.previousTag}` });
    return { stack, runId: read.runId, action: "reverted", message: `reverted the unfinished run to ${snapshot.previousTag}` };
  } finally {
    await journal.close();
  }
}

export async function recover(opts: RecoverOptions, ctx: ActionContext): Promise<RecoverReport> {
  assertStackName(opts.stack);
  const runId = newRunId();
  const emit = new ProgressEmitter(ctx.reporter, runId);
  const held = new Cleanups();
  try {
    const lock = await acquireLock({ stateDir: ctx.stateDir, stack: opts.stack, runId, command: "recover", onWarning: (m) => emit.log("warn", "lock", m) });
    held.add(() => lock.release());
    // recover alone may take over a cluster lock whose holder stopped renewing it.
    const sc = await deployedStack(opts.stack, ctx, emit);
    const cluster = sc ? await lockCluster(sc, { runId, command: "recover", takeover: true, emit, env: ctx.env ?? process.env }) : undefined;
    if (cluster) held.add(() => cluster.release());
    const report = await recoverIfNeeded(opts.stack, ctx, emit, cluster?.journal);
    const tookOver = cluster?.lock.tookOver;
    const outcome = report.action === "needs-attention" ? "needs-attention" : "recovered";
    // recover's own run: what it found and did, next to the run it finished or reverted.
    const own = await Journal.create({
      stateDir: ctx.stateDir,
      stack: opts.stack,
      runId,
      command: "recover",
      request: { stack: opts.stack },
      secrets: ctx.secrets,
      ...(cluster ? { shared: cluster.journal } : {}),
    });
    held.add(() => own.close());
    await own.decision("recover", JOURNAL_ACTIONS.recoverReport, {
      message: report.message,
      data: { recoveredRun: report.runId ?? null, action: report.action, tookOverLock: tookOver ? { ...tookOver } : null },
    });
    await own.recordOutcome(outcome, { phase: "recover", message: report.message });
    emit.outcome(outcome, outcome === "needs-attention" ? EXIT_CODES.needsAttention : EXIT_CODES.ok, report.message);
    return tookOver ? { ...report, tookOverLock: tookOver } : report;
  } finally {
    await held.run();
  }
}

/**
 * The stack's context when it has a deployment (and so a cluster holding its lock and shared
 * journal); undefined for a stack never deployed, which only this machine's journal can know about.
 */
async function deployedStack(stack: string, ctx: ActionContext, emit: ProgressEmitter): Promise<StackContext | undefined> {
  try {
    return await loadStackContext(stackTarget(stack, ctx));
  } catch (err) {
    if (!isNotDeployed(err)) throw err;
    emit.log(
      "warn",
      "lock",
      `${(err as Error).message.split("\n").at(-1)?.trim()}: no cluster lock or shared journal to use; recovering from this machine's journal only`,
    );
    return undefined;
  }
}
