// `sie-fleet upgrade`: move a stack to a new image tag in health-gated waves, and revert to the
// exact previous config when any gate fails. Every side effect is journaled before it happens,
// so `recover` can finish or undo a run killed at any point. The locks, the recovery of an earlier
// run and the journal are taken here; upgrade/prepare.ts judges, upgrade/perform.ts changes.
import { Cleanups } from "../../core/cleanups.js";
import { EXIT_CODES, NeedsAttentionError, UsageError } from "../../core/errors.js";
import { assertStackName } from "../../core/stackName.js";
import type { ActionContext } from "../../core/types.js";
import { ProgressEmitter } from "../events/emitter.js";
import { Journal, newRunId } from "../journal/journal.js";
import { lockCluster } from "../locks/clusterLock.js";
import { acquireLock } from "../locks/fileLock.js";
import { parseImageTag } from "../plan/versionPolicy.js";
import { skippedChecks, VERIFY_CHECKS } from "../verify/index.js";
import { loadStackContext } from "./context.js";
import { recoverIfNeeded } from "./recover.js";
import type { UpgradeResult } from "./results.js";
import { stackTarget } from "./target.js";
import type { ChangeOptions, UpgradeOptions } from "./upgrade/options.js";
import { perform } from "./upgrade/perform.js";
import { prepare, withSkippedChecks } from "./upgrade/prepare.js";

export type { ChangeOptions, UpgradeOptions } from "./upgrade/options.js";

export async function upgrade(opts: UpgradeOptions, ctx: ActionContext): Promise<UpgradeResult> {
  return changeStack({ ...opts, command: "upgrade" }, ctx);
}

export async function changeStack(opts: ChangeOptions, ctx: ActionContext): Promise<UpgradeResult> {
  assertStackName(opts.stack);
  const to = parseImageTag(opts.to, "--to").raw;
  const unknown = (opts.skipChecks ?? []).filter((c) => !(VERIFY_CHECKS as readonly string[]).includes(c));
  if (unknown.length > 0) {
    throw new UsageError(`--skip-check ${unknown.join(", ")}: unknown check; expected one of ${VERIFY_CHECKS.join(", ")}`, {
      code: "bad-flags",
      hint: `e.g. sie-fleet ${opts.command} --stack ${opts.stack} --to ${opts.to} --skip-check metric-gates`,
    });
  }
  const runId = newRunId();
  const emit = new ProgressEmitter(ctx.reporter, runId);
  const started = Date.now();
  const target = stackTarget(opts.stack, ctx);

  emit.phase("lock", "started", `locking stack ${opts.stack}`);
  const command = `${opts.command} --to ${to}`;
  const held = new Cleanups();
  try {
    const lock = await acquireLock({ stateDir: ctx.stateDir, stack: opts.stack, runId, command, onWarning: (m) => emit.log("warn", "lock", m) });
    held.add(() => lock.release());
    const onProgress = (l: string) => emit.log("info", "preflight", l);
    const found = await loadStackContext(target, { onProgress });
    const cluster = await lockCluster(found, { runId, command, takeover: false, emit, env: ctx.env ?? process.env });
    held.add(() => cluster.release());
    const recovered = await recoverIfNeeded(opts.stack, ctx, emit, cluster.journal);
    // Never change a stack whose last run could not be brought back to a known state.
    if (recovered.action === "needs-attention") {
      throw new NeedsAttentionError(`the unfinished run ${recovered.runId ?? ""} of stack ${opts.stack} could not be recovered: ${recovered.message}`, {
        hint: `sie-fleet status --stack ${opts.stack}; fix what it shows, then sie-fleet recover --stack ${opts.stack}`,
      });
    }
    // A recovery may have put the config file back: read the stack again.
    const loaded = recovered.action === "none" ? found : await loadStackContext(target, { onProgress });
    // The run's checks: the stack's lists minus rollout.gates.skip and --skip-check (and, after
    // the preflight, what --force went on without). Every phase reads them from sc.
    const skipped = skippedChecks(loaded.config.rollout.gates, opts.skipChecks);
    for (const name of opts.skipChecks ?? [])
      if (!skipped.some((s) => s.name === name))
        emit.log("warn", "preflight", `--skip-check ${name}: the stack's checks do not include it; nothing to leave out`);
    const sc = withSkippedChecks(loaded, skipped);
    const journal = await Journal.create({
      stateDir: ctx.stateDir,
      stack: opts.stack,
      runId,
      command: opts.command,
      request: { to, chartVersion: opts.chartVersion ?? null, dryRun: !!opts.dryRun, force: !!opts.force, skipChecks: [...(opts.skipChecks ?? [])] },
      secrets: sc.secrets,
      shared: cluster.journal,
    });
    held.add(() => journal.close());
    const base = { runId, stack: opts.stack, from: sc.imageTag, to, startedAt: new Date(started).toISOString(), journalPath: journal.path };
    const finish = <T extends object>(r: T) => ({
      ...base,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...(skipped.length > 0 ? { skippedChecks: [...skipped] } : {}),
      ...r,
    });

    const prep = await prepare(sc, journal, emit, { ...opts, to }, ctx, skipped);
    if (prep.refused) {
      const { promotion, ...refused } = prep.refused;
      await journal.recordOutcome("refused", { phase: "preflight", message: refused.reason });
      emit.outcome("refused", refused.exitCode ?? EXIT_CODES.refused, refused.reason);
      return { ...finish({ outcome: "refused" as const, ...refused, waves: [], gates: [] }), ...(promotion ? { promotion } : {}) };
    }
    const { chart, promotion, capacity, keda } = prep.ready;
    const result = await perform(prep.ready.sc, journal, emit, { ...opts, to }, ctx, finish, prep.ready.skipped, promotion?.waveGates);
    return {
      ...result,
      ...(promotion ? { promotion: promotion.report } : {}),
      ...(chart ? { chartChange: chart } : {}),
      ...(capacity ? { capacity } : {}),
      ...(keda ? { keda } : {}),
    };
  } finally {
    await held.run();
  }
}
