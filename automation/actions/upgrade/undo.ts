// The one way a run's changes are finished or undone, for a failing upgrade or rollback and for
// `recover` alike: what is in effect comes from the run's journal (journal/undo.ts), never from
// what the caller remembers, so a side effect added to the run is undone by both or by neither.
import type { ConfigSnapshot } from "../../engine/configFile.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { inEffect } from "../../journal/undo.js";
import { restoreHolds, thawKeda } from "../../kube/index.js";
import type { GateResult, RunPhase } from "../../../core/types.js";
import type { StackContext } from "../context.js";
import { restoreConfigStep, revertToSnapshot } from "./revert.js";
import { endProbes } from "./zeroReplicaProbe.js";

/** Thaws KEDA if the run froze it and has not thawed it yet. Throws what the thaw throws. */
export async function thawIfFrozen(sc: StackContext, journal: Journal, emit: ProgressEmitter): Promise<void> {
  const { freeze } = inEffect(journal.entries);
  if (!freeze) return;
  await journal.step("thaw", JOURNAL_ACTIONS.kedaThaw, freeze, () => thawKeda(sc.kube.api, freeze));
  emit.phase("thaw", "succeeded", `KEDA thawed (${freeze.entries.length} ScaledObjects restored)`);
}

/**
 * Thaws KEDA if the run froze it; a failed thaw is logged and returned, not thrown: the caller
 * still has to say that pools stay frozen until a person thaws them.
 */
export async function thawReportingFailure(sc: StackContext, journal: Journal, emit: ProgressEmitter): Promise<string | undefined> {
  try {
    await thawIfFrozen(sc, journal, emit);
    return undefined;
  } catch (err) {
    const message = `KEDA thaw failed: ${(err as Error).message}`;
    emit.log("error", "thaw", message);
    return message;
  }
}

/**
 * A run whose new version verified: probes still in effect ended, holds lifted, KEDA thawed.
 * Failures propagate: the caller reports them.
 */
export async function finishRun(sc: StackContext, journal: Journal, emit: ProgressEmitter, phase: RunPhase): Promise<void> {
  const state = inEffect(journal.entries);
  if (state.probes.length) await endProbes(sc, journal, emit, phase, state.probes);
  const holds = state.holds;
  if (holds) await journal.step("thaw", JOURNAL_ACTIONS.holdsRestore, holds, () => restoreHolds(sc.kube.api, holds));
  await thawIfFrozen(sc, journal, emit);
}

export interface UndoOptions {
  /** The phase the undo's steps are journaled under: "revert" (a failing run) or "recover". */
  phase: RunPhase;
  /** The run's config snapshot as a file on this machine (recover may have fetched it from the shared journal). */
  snapshot: ConfigSnapshot;
  /** The tag the stack returns to. */
  previousTag: string;
  /** Revisions a wave saw fail, whose stuck pods are deleted. */
  badRevisions?: Record<string, string>;
}

export interface UndoOutcome {
  ok: boolean;
  /** Whether the snapshot was applied again (the run had applied something). */
  reapplied: boolean;
  /** What verified the previous version after a re-apply. */
  gates: GateResult[];
  /** Why the undo did not complete. */
  error?: string;
  /** The thaw failed: pools stay frozen until a person thaws them. */
  thawError?: string;
  /** Whether there were holds to lift and KEDA to thaw (for the caller's message). */
  liftedHolds: boolean;
  thawed: boolean;
}

/**
 * Puts back everything the run changed and has not put back. Nothing applied yet: the stack file,
 * the holds and KEDA's pause annotations (a `pulumi up` would change nothing). Something applied:
 * the snapshot applied again and the previous version verified (revert.ts). KEDA is thawed whatever
 * happens; a failed thaw is reported, not thrown.
 */
export async function undoRun(sc: StackContext, journal: Journal, emit: ProgressEmitter, opts: UndoOptions): Promise<UndoOutcome> {
  const state = inEffect(journal.entries);
  let thawError: string | undefined;
  const thaw = async () => {
    thawError = await thawReportingFailure(sc, journal, emit);
  };
  const common = { liftedHolds: state.holds !== undefined, thawed: state.freeze !== undefined };
  if (!state.applied) {
    const holds = state.holds;
    try {
      await restoreConfigStep(sc, journal, opts.phase, opts.snapshot);
      if (holds) await journal.step(opts.phase, JOURNAL_ACTIONS.holdsRestore, holds, () => restoreHolds(sc.kube.api, holds));
    } finally {
      await thaw();
    }
    return { ok: thawError === undefined, reapplied: false, gates: [], ...(thawError ? { thawError } : {}), ...common };
  }
  let out: Awaited<ReturnType<typeof revertToSnapshot>>;
  try {
    out = await revertToSnapshot(sc, journal, emit, {
      snapshot: opts.snapshot,
      ...(state.holds ? { holds: state.holds } : {}),
      probes: state.probes,
      badRevisions: opts.badRevisions ?? {},
      previousTag: opts.previousTag,
    });
  } finally {
    await thaw();
  }
  return {
    ok: out.ok && thawError === undefined,
    reapplied: true,
    gates: out.gates,
    ...(out.error ? { error: out.error } : {}),
    ...(thawError ? { thawError } : {}),
    ...common,
  };
}
