// `sie-fleet history`: the stack's Pulumi updates, newest first, each with the image tag and
// chart version its config had, joined with the outcome of the sie-fleet run that made it.
import { openStack, type StackTarget, type UpdateSummary } from "../engine/stack.js";
import { ProgressEmitter } from "../events/emitter.js";
import { JOURNAL_ACTIONS, readRuns, type SharedJournal } from "../journal/journal.js";
import { sourceRun } from "../plan/promotionPolicy.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext } from "../../core/types.js";
import type { ImageDigest } from "../../core/imageDigests.js";
import type { SkippedCheck } from "../verify/skipped.js";
import { sharedJournal } from "../locks/clusterLock.js";
import { isNotDeployed, loadStackContext, rawConfig } from "./context.js";

import { stackTarget } from "./target.js";

export interface HistoryOptions {
  stack: string;
  limit?: number;
}

export interface HistoryEntry {
  /**
   * Update number, counted from 1 for the stack's first update (the file backend records no
   * numbers of its own). This is what `rollback --to update:<n>` takes.
   */
  version: number;
  kind: string;
  result: string;
  startTime: string;
  endTime?: string;
  durationMs?: number;
  message?: string;
  imageTag?: string;
  chartVersion?: string;
  /** Who ran it (user@host as Pulumi recorded), when known. */
  who?: string;
  /** The sie-fleet run that made this update, if any, and how it ended. */
  runId?: string;
  outcome?: string;
  /** For a successful run: the image digests its pods ran once verified, per component and pool. */
  digests?: ImageDigest[];
  /** Checks the run left out, and who left each out (its `checks.skipped` journal entry). */
  skippedChecks?: SkippedCheck[];
}

/** The recorded config of an update, as the stack file holds it (secrets left out). */
export type RecordedConfig = Record<string, { value?: string; objectValue?: unknown; secret: boolean }>;

export interface RecordedUpdate extends HistoryEntry {
  config: RecordedConfig;
}

export function releaseOf(config: RecordedConfig): { imageTag?: string; chartVersion?: string } {
  const raw = rawConfig(config as never) as Record<string, unknown>;
  const release = raw["sie-fleet:release"] as { imageTag?: string; version?: string } | undefined;
  return { ...(release?.imageTag ? { imageTag: release.imageTag } : {}), ...(release?.version ? { chartVersion: String(release.version) } : {}) };
}

/** All updates, oldest first, numbered from 1. */
function numberUpdates(summaries: readonly UpdateSummary[]): RecordedUpdate[] {
  const oldestFirst = [...summaries].sort((a, b) => new Date(a.startTime).getTime() - new Date(b.startTime).getTime());
  return oldestFirst.map((u, i) => {
    const config = (u.config ?? {}) as RecordedConfig;
    const env = u.environment ?? {};
    return {
      version: i + 1,
      kind: u.kind,
      result: u.result,
      startTime: new Date(u.startTime).toISOString(),
      ...(u.endTime ? { endTime: new Date(u.endTime).toISOString(), durationMs: new Date(u.endTime).getTime() - new Date(u.startTime).getTime() } : {}),
      ...(u.message ? { message: u.message } : {}),
      ...(env["git.author"] || env["exec.kind"] ? { who: env["git.author"] ?? env["exec.kind"] } : {}),
      ...releaseOf(config),
      config,
    };
  });
}

/** Updates joined with the sie-fleet run that made each (the run whose time span contains its start). */
async function joinRuns(updates: RecordedUpdate[], stateDir: string, stack: string, shared: SharedJournal | undefined): Promise<RecordedUpdate[]> {
  const runs = await readRuns(stateDir, stack, shared);
  const spans = runs.map((r) => ({
    runId: r.runId,
    from: new Date(r.entries[0]?.time ?? 0).getTime(),
    to: new Date(r.entries.at(-1)?.time ?? 0).getTime(),
    outcome: r.entries.findLast((e) => e.kind === "outcome")?.outcome ?? "unfinished",
    digests: sourceRun(r).digests,
    skipped: r.entries.find((e) => e.action === JOURNAL_ACTIONS.checksSkipped)?.data as SkippedCheck[] | undefined,
  }));
  return updates.map((u) => {
    const t = new Date(u.startTime).getTime();
    const run = spans.find((s) => t >= s.from - 1000 && t <= s.to + 1000);
    if (!run) return u;
    return {
      ...u,
      runId: run.runId,
      outcome: run.outcome,
      ...(run.digests ? { digests: run.digests } : {}),
      ...(run.skipped?.length ? { skippedChecks: run.skipped } : {}),
    };
  });
}

/** All updates, oldest first, numbered from 1, with their recorded config and run outcome. */
export async function recordedUpdates(opts: HistoryOptions, ctx: ActionContext): Promise<RecordedUpdate[]> {
  assertStackName(opts.stack);
  const target = stackTarget(opts.stack, ctx);
  const s = await openStack(target);
  const updates = numberUpdates(await s.stack.history(undefined, undefined, false));
  return joinRuns(updates, ctx.stateDir, opts.stack, updates.length > 0 ? await sharedRuns(target, ctx) : undefined);
}

/**
 * The runs other machines journaled in the stack's cluster. History reads the backend and must
 * answer when the cluster does not: without it, outcomes come from this machine's journals only.
 */
async function sharedRuns(target: StackTarget, ctx: ActionContext): Promise<SharedJournal | undefined> {
  try {
    const journal = sharedJournal(await loadStackContext(target));
    await journal.runs();
    return journal;
  } catch (err) {
    if (!isNotDeployed(err))
      new ProgressEmitter(ctx.reporter, "").log(
        "warn",
        "preflight",
        `run outcomes from this machine only: the shared journal could not be read (${(err as Error).message})`,
      );
    return undefined;
  }
}

export async function history(opts: HistoryOptions, ctx: ActionContext): Promise<HistoryEntry[]> {
  const updates = await recordedUpdates(opts, ctx);
  return updates
    .map(({ config: _config, ...u }) => u)
    .reverse()
    .slice(0, opts.limit ?? 20);
}
