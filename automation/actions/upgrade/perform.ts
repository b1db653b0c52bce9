// The second half of an upgrade or rollback: it changes the stack, every side effect journaled
// before it happens, and ends succeeded, reverted or needs-attention.
import * as fs from "node:fs";
import * as path from "node:path";
import { CHART_VERSION_PATH, IMAGE_TAG_PATHS } from "../../../infra/config/configKeys.js";
import { ALWAYS_ALLOWED_CHANGES } from "../../../core/defaults.js";
import { ConfigError, toSieFleetError } from "../../../core/errors.js";
import { digestsJson, type ImageDigest } from "../../../core/imageDigests.js";
import { redactText } from "../../../core/redact.js";
import { exitCodeForOutcome, type ActionContext, type GateResult, type WaveReport } from "../../../core/types.js";
import { holdTargets, releaseWorkloads } from "../../../core/workloads.js";
import { restoreConfigFile, snapshotConfigFile, type ConfigSnapshot } from "../../engine/configFile.js";
import { applyStack, previewStack, setConfigPath } from "../../engine/operations.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { CONFIG_SNAPSHOT_FILE, CONFIG_TARGET_FILE } from "../../journal/clusterJournal.js";
import { JOURNAL_ACTIONS, type Journal } from "../../journal/journal.js";
import { applyHolds, applyKedaFreeze, planHolds, planKedaFreeze, type KedaFreezeRecord, type ProbeRecord } from "../../kube/index.js";
import { checkGuardrails, DEFAULT_GUARDRAIL_POLICY } from "../../plan/guardrails.js";
import { unverifiedPools, zeroReplicaPools, type ZeroReplicaPoolReport } from "../../plan/zeroReplicaPools.js";
import { captureBaseline, type SkippedCheck } from "../../verify/index.js";
import { unverifiedReason } from "../../verify/unverified.js";
import type { StackContext } from "../context.js";
import type { UpgradeResult } from "../results.js";
import { applyWaves, type WaveGates } from "./applyWaves.js";
import { recordDigests } from "./digestRecord.js";
import type { ChangeOptions } from "./options.js";
import { finishRun, thawIfFrozen, undoRun } from "./undo.js";
import { finalVerification, kedaAfterThaw, kedaGatesFor } from "./verification.js";

/**
 * The config snapshot, kept locally and beside the run's shared journal: a revert on another
 * machine needs the exact bytes. The stack file holds secrets only encrypted; a value the stack
 * treats as secret that sits in it in plain text is not copied to the cluster.
 */
async function snapshotAndShare(sc: StackContext, journal: Journal, snapFile: string): Promise<ConfigSnapshot> {
  const snap = snapshotConfigFile(sc.open.configFile, snapFile);
  const bytes = fs.readFileSync(snapFile);
  const text = bytes.toString("utf8");
  if (redactText(text, sc.secrets) !== text) {
    throw new ConfigError([
      {
        key: sc.open.configFile,
        reason: "holds a secret value in plain text; it would be copied to the cluster with the run's journal",
        hint: "store it with pulumi config set --secret",
      },
    ]);
  }
  await journal.attach(CONFIG_SNAPSHOT_FILE, bytes);
  return snap;
}

export type Finish = <T extends object>(
  r: T,
) => T & { runId: string; stack: string; from: string; to: string; startedAt: string; finishedAt: string; durationMs: number; journalPath: string };

/**
 * The second half: snapshot, freeze KEDA, set the config, preview and guardrails, hold, one release
 * update, the waves, the final verification; then finish the run (holds lifted, KEDA thawed) or undo
 * it from its journal (undo.ts).
 */
export async function perform(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  opts: ChangeOptions,
  ctx: ActionContext,
  finish: Finish,
  skipped: readonly SkippedCheck[],
  waveGates?: WaveGates,
): Promise<UpgradeResult> {
  const stack = sc.open.name;
  const snapFile = path.join(ctx.stateDir, "snapshots", stack, `${journal.runId}.yaml`);
  const snapshot: ConfigSnapshot = await journal.step(
    "snapshot",
    JOURNAL_ACTIONS.configSnapshot,
    { file: snapFile },
    () => snapshotAndShare(sc, journal, snapFile),
    {
      done: (snap) => ({ ...snap, previousTag: sc.imageTag }),
    },
  );
  emit.phase("snapshot", "succeeded", `config snapshot saved (sha256 ${snapshot.sha256.slice(0, 12)})`);

  // What is in effect and must be undone is read back from the journal (undo.ts); the waves keep
  // their own list of the probes they run.
  const probes: ProbeRecord[] = [];
  let freeze: KedaFreezeRecord | undefined;
  if (!opts.dryRun) {
    const plan = await planKedaFreeze(sc.kube.api, sc.names.namespace);
    freeze = plan;
    await journal.step("freeze", JOURNAL_ACTIONS.kedaFreeze, plan, () => applyKedaFreeze(sc.kube.api, plan));
    emit.phase("freeze", "succeeded", `KEDA frozen: ${plan.entries.map((e) => `${e.name}=${e.replicas}`).join(", ") || "no ScaledObjects"}`);
  }

  const waves: WaveReport[] = [];
  const gates: GateResult[] = [];
  let badRevisions: Record<string, string> = {};
  let failedGate: GateResult | undefined;
  let zeroPools: ZeroReplicaPoolReport[] = [];
  let probedDigests: ImageDigest[] = [];
  try {
    const setting = { [IMAGE_TAG_PATHS.imageTag]: opts.to, ...(opts.chartVersion ? { [CHART_VERSION_PATH]: opts.chartVersion } : {}) };
    await journal.step("set-config", JOURNAL_ACTIONS.configSet, setting, async () => {
      if (opts.applyConfig) await opts.applyConfig(sc);
      else {
        await setConfigPath(sc.open, IMAGE_TAG_PATHS.imageTag, opts.to);
        if (opts.chartVersion) await setConfigPath(sc.open, CHART_VERSION_PATH, opts.chartVersion);
      }
      // A recover that finishes this run on another machine leaves that machine's stack file as here.
      await journal.attach(CONFIG_TARGET_FILE, fs.readFileSync(sc.open.configFile));
    });

    emit.phase("preview", "started", "previewing the change");
    const preview = await previewStack(sc.open, { onStep: (l) => emit.log("info", "preview", l) });
    const verdict = checkGuardrails(preview.steps, { ...DEFAULT_GUARDRAIL_POLICY, allowedChanges: ALWAYS_ALLOWED_CHANGES });
    await journal.decision("guardrails", JOURNAL_ACTIONS.guardrails, { data: { changeSummary: preview.changeSummary, violations: verdict.violations } });
    if (opts.dryRun || !verdict.ok) {
      restoreConfigFile(sc.open.configFile, snapshot);
      await journal.append({ kind: "done", phase: "guardrails", action: JOURNAL_ACTIONS.configRestore });
      await thawIfFrozen(sc, journal, emit);
      if (!verdict.ok) {
        const reason = verdict.violations.map((v) => v.reason).join("; ");
        await journal.recordOutcome("refused", { phase: "guardrails", message: reason });
        emit.outcome("refused", exitCodeForOutcome("refused"), `guardrails refused the upgrade: ${reason}`);
        return finish({
          outcome: "refused" as const,
          refusedBy: "guardrail" as const,
          rule: "guardrail",
          reason,
          violations: verdict.violations,
          waves,
          gates,
        });
      }
      await journal.recordOutcome("dry-run", { phase: "preview" });
      emit.outcome("dry-run", exitCodeForOutcome("dry-run"), `dry run: the upgrade would change ${verdict.changes} resource(s); nothing was applied`);
      return finish({ outcome: "dry-run" as const, changeSummary: preview.changeSummary, steps: preview.steps, violations: [], waves, gates });
    }
    emit.phase("guardrails", "succeeded", `guardrails passed (${verdict.changes} change(s), release only)`);

    // Hold every workload before the one release update, so waves decide what rolls.
    const plan = await planHolds(sc.kube.api, sc.names.namespace, holdTargets(releaseWorkloads(sc.names)));
    await journal.step("hold", JOURNAL_ACTIONS.holdsApply, plan, () => applyHolds(sc.kube.api, plan));
    emit.phase("hold", "succeeded", "workers held by partitions, gateway and config paused");
    // Counted once KEDA is frozen and the pools held: this is what each pool runs for the whole run.
    const atZero = zeroReplicaPools(sc.names, plan, freeze);
    const policy = sc.config.rollout.zeroReplicaPools;
    zeroPools = atZero.map((z) => ({ pool: z.pool, policy, status: "not-reached" }));

    // What the waves are compared with: the pools' error ratio and p95 before the release (with
    // Prometheus), and a sample of the gateway's and config service's requests.
    const baseline = await captureBaseline({
      http: sc.kube.http,
      ...(sc.prometheusUrl ? { prometheusUrl: sc.prometheusUrl } : {}),
      ...(sc.gatewayUrl ? { gatewayUrl: sc.gatewayUrl } : {}),
      ...(sc.configUrl ? { configUrl: sc.configUrl } : {}),
      gates: sc.config.rollout.gates,
      namespace: sc.names.namespace,
      pools: Object.keys(sc.names.statefulSets),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    await journal.evidence("apply", JOURNAL_ACTIONS.verifyBaseline, baseline ?? null);

    await journal.step(
      "apply",
      JOURNAL_ACTIONS.pulumiUp,
      undefined,
      async () => {
        emit.phase("apply", "started", `applying the release with ${opts.to}`);
        await applyStack(sc.open, {
          message: `sie-fleet ${opts.label ?? opts.command} ${sc.imageTag} → ${opts.to}`,
          onStep: (l) => emit.log("info", "apply", l),
        });
      },
      { message: `upgrade to ${opts.to}` },
    );
    emit.phase("apply", "succeeded", "release updated; rolling out wave by wave");

    const wavesOut = await applyWaves(sc, journal, emit, {
      to: opts.to,
      zeroPools: atZero,
      probes,
      ...(baseline ? { baseline } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(waveGates ? { waveGates } : {}),
    });
    waves.push(...wavesOut.reports);
    badRevisions = wavesOut.badRevisions;
    failedGate = wavesOut.failedGate;
    zeroPools = zeroPools.map((z) => wavesOut.zeroReplicaPools.find((r) => r.pool === z.pool) ?? z);
    probedDigests = wavesOut.probedDigests;

    if (!failedGate) {
      emit.phase("verify", "started", "verifying the whole deployment");
      const final = await finalVerification(sc, opts.to, ctx.signal);
      gates.push(...(await kedaGatesFor(opts.command, final, "verify", emit, journal)));
      for (const g of gates) emit.gate("verify", g);
      await journal.evidence("verify", JOURNAL_ACTIONS.verify, gates);
      failedGate = gates.find((g) => g.status === "fail");
    }
  } catch (err) {
    if (opts.dryRun) {
      // A dry run never applies: put the config back and report the error as it is.
      restoreConfigFile(sc.open.configFile, snapshot);
      await journal.recordOutcome("failed", { phase: "preview", message: (err as Error).message });
      throw err;
    }
    // A refused Kubernetes call (ours or Pulumi's) names the permission to grant, not a bad release.
    const mapped = toSieFleetError(err);
    const message = mapped.code === "kube-forbidden" ? mapped.message : (err as Error).message;
    failedGate = { name: mapped.code === "kube-forbidden" ? "rbac" : "engine", status: "fail", message, evidence: {}, durationMs: 0 };
    emit.log("error", "apply", `upgrade step failed: ${message}`);
  }

  return conclude(sc, journal, emit, opts, ctx, finish, {
    snapshot,
    skipped,
    waves,
    gates,
    badRevisions,
    zeroPools,
    probedDigests,
    ...(failedGate ? { failedGate } : {}),
  });
}

/** What the waves left to decide, for the run's end. */
interface Rolled {
  snapshot: ConfigSnapshot;
  skipped: readonly SkippedCheck[];
  waves: WaveReport[];
  gates: GateResult[];
  badRevisions: Record<string, string>;
  zeroPools: ZeroReplicaPoolReport[];
  probedDigests: ImageDigest[];
  /** The gate (or engine error) that failed the run, if any. */
  failedGate?: GateResult;
}

/**
 * The run's end: a run whose gates passed is finished (holds lifted, KEDA thawed and checked once
 * live again) and ends succeeded, or succeeded-unverified when something was not looked at; a
 * failed gate undoes the run from its journal and ends reverted, or needs-attention when the undo
 * does not verify.
 */
async function conclude(
  sc: StackContext,
  journal: Journal,
  emit: ProgressEmitter,
  opts: ChangeOptions,
  ctx: ActionContext,
  finish: Finish,
  rolled: Rolled,
): Promise<UpgradeResult> {
  const stack = sc.open.name;
  const { snapshot, skipped, waves, badRevisions, zeroPools, probedDigests } = rolled;
  const gates = [...rolled.gates];
  let failedGate = rolled.failedGate;
  if (!failedGate) {
    await finishRun(sc, journal, emit, "thaw");
    // KEDA evaluates its triggers again only once thawed: Fallback can show only now (a rollback
    // only warns about it, as in the preflight and the final verification).
    const afterThaw = await kedaAfterThaw(sc, opts.to, ctx.signal);
    const keda = await kedaGatesFor(opts.command, afterThaw, "thaw", emit, journal);
    for (const g of keda) emit.gate("thaw", g);
    gates.push(...keda);
    failedGate = keda.find((g) => g.status === "fail");
  }

  const zero = zeroPools.length > 0 ? { zeroReplicaPools: zeroPools } : {};
  if (!failedGate) {
    const unverified = unverifiedPools(zeroPools);
    if (unverified.length > 0 || skipped.length > 0) {
      // Never plain success: no gate saw the new version on these pools, or the run left checks out.
      const why = { ...(unverified.length > 0 ? { unverifiedPools: unverified } : {}), ...(skipped.length > 0 ? { skippedChecks: [...skipped] } : {}) };
      const message = `${sc.imageTag} → ${opts.to} succeeded with ${unverifiedReason(why)}`;
      await journal.recordOutcome("succeeded-unverified", { message, data: why });
      emit.outcome("succeeded-unverified", exitCodeForOutcome("succeeded-unverified"), `stack ${stack}: ${message}`);
      return finish({ outcome: "succeeded-unverified" as const, ...why, waves, gates, ...zero });
    }
    // What was verified, by digest: what a promotion from this stack compares with.
    const digests = await recordDigests(sc, emit, probedDigests);
    await journal.recordOutcome("succeeded", { message: `${sc.imageTag} → ${opts.to}`, ...(digests ? { data: { digests: digestsJson(digests) } } : {}) });
    emit.outcome("succeeded", exitCodeForOutcome("succeeded"), `stack ${stack} upgraded ${sc.imageTag} → ${opts.to}`);
    return finish({ outcome: "succeeded" as const, waves, gates, ...zero, ...(digests ? { digests } : {}) });
  }

  // Revert: the failed gate decided it; KEDA is thawed whatever happens next.
  await journal.decision("revert", JOURNAL_ACTIONS.revertDecide, { data: { failedGate } });
  const reverted = await undoRun(sc, journal, emit, { phase: "revert", snapshot, previousTag: sc.imageTag, badRevisions });
  if (reverted.ok) {
    await journal.recordOutcome("reverted", { message: `${failedGate.name}: ${failedGate.message}` });
    emit.outcome(
      "reverted",
      exitCodeForOutcome("reverted"),
      `upgrade to ${opts.to} failed (${failedGate.name}: ${failedGate.message}); reverted to ${sc.imageTag}`,
    );
    return finish({ outcome: "reverted" as const, failedGate, revertedTo: sc.imageTag, waves, gates: [...gates, ...reverted.gates], ...zero });
  }
  const revertError = [reverted.error, reverted.thawError].filter(Boolean).join("; ") || "revert failed";
  await journal.recordOutcome("needs-attention", { phase: "revert", message: revertError });
  emit.outcome("needs-attention", exitCodeForOutcome("needs-attention"), `upgrade failed and the revert did not verify: ${revertError}`);
  return finish({
    outcome: "needs-attention" as const,
    reason: `revert did not complete: ${revertError}. Inspect with sie-fleet status --stack ${stack}; the config snapshot is ${snapshot.file}`,
    failedGate,
    revertError,
    waves,
    gates: [...gates, ...reverted.gates],
    ...zero,
  });
}
