// What a run has changed and not yet put back, read from its journal alone: the same answer for
// the run that is failing now (its own journal) and for `recover` (a killed run's journal, maybe
// written on another machine). actions/upgrade/undo.ts acts on it.
import type { ConfigSnapshot } from "../engine/configFile.js";
import type { HoldRecord, KedaFreezeRecord, ProbeRecord } from "../kube/index.js";
import { JOURNAL_ACTIONS, SIDE_EFFECTS, type JournalEntry, type SideEffectAction } from "./journal.js";

export interface InEffect {
  /** The stack file as the run found it, once its snapshot is journaled done. */
  snapshot?: ConfigSnapshot & { previousTag: string };
  /** KEDA's pause annotations the run set and has not thawed. */
  freeze?: KedaFreezeRecord;
  /** The rollout holds the run set and has not restored. */
  holds?: HoldRecord;
  /** Pools at zero probed with a worker of the new version and not put back. */
  probes: ProbeRecord[];
  /** Whether the run applied anything (a `pulumi up` intent): undoing it means applying the snapshot again. */
  applied: boolean;
  /** Whether the run's final verification passed: it is finished, not undone. */
  verified: boolean;
}

const data = <T>(e: JournalEntry | undefined): T | undefined => e?.data as T | undefined;

/** Each intent the journal shows completed, with its "done" entry, in the order they completed. */
function completions(entries: readonly JournalEntry[]): { intent: JournalEntry; done: JournalEntry }[] {
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  return entries.flatMap((done) => {
    const intent = done.kind === "done" && done.ref !== undefined ? bySeq.get(done.ref) : undefined;
    return intent ? [{ intent, done }] : [];
  });
}

/**
 * Intents of `action` not undone since: no completed intent of its inverse after it. Probes are
 * undone per pool; the others as a whole (the latest record holds what the undo needs).
 */
function notUndone(entries: readonly JournalEntry[], completed: ReturnType<typeof completions>, action: SideEffectAction): JournalEntry[] {
  const undo = SIDE_EFFECTS[action].undoneBy;
  const undone = completed.map((c) => c.intent).filter((i) => i.action === undo);
  return entries.filter(
    (e) =>
      e.kind === "intent" &&
      e.action === action &&
      !undone.some((u) => u.seq > e.seq && (action !== JOURNAL_ACTIONS.probeScale || data<ProbeRecord>(u)?.pool === data<ProbeRecord>(e)?.pool)),
  );
}

export function inEffect(entries: readonly JournalEntry[]): InEffect {
  const completed = completions(entries);
  const snapshot = data<ConfigSnapshot & { previousTag: string }>(completed.filter((c) => c.intent.action === JOURNAL_ACTIONS.configSnapshot).at(-1)?.done);
  const freeze = data<KedaFreezeRecord>(notUndone(entries, completed, JOURNAL_ACTIONS.kedaFreeze).at(-1));
  const holds = data<HoldRecord>(notUndone(entries, completed, JOURNAL_ACTIONS.holdsApply).at(-1));
  return {
    ...(snapshot ? { snapshot } : {}),
    ...(freeze ? { freeze } : {}),
    ...(holds ? { holds } : {}),
    probes: notUndone(entries, completed, JOURNAL_ACTIONS.probeScale).flatMap((e) => (e.data ? [e.data as unknown as ProbeRecord] : [])),
    applied: entries.some((e) => e.kind === "intent" && e.action === JOURNAL_ACTIONS.pulumiUp),
    verified: entries.some(
      (e) =>
        e.kind === "evidence" &&
        e.action === JOURNAL_ACTIONS.verify &&
        Array.isArray(e.data) &&
        (e.data as { status?: string }[]).every((g) => g.status !== "fail"),
    ),
  };
}
