// `sie-fleet upgrade`: move a stack to a new image tag in health-gated waves, and revert to the
// exact previous config when any gate fails. Every side effect is journaled before it happens,
// so `recover` can finish or undo a run killed at any point.
import * as fs from "node:fs";
import * as path from "node:path";
import { CHART_VERSION_PATH, IMAGE_TAG_PATHS } from "../../infra/config/configKeys.js";
import type { FleetConfig } from "../../infra/config/configTypes.js";
import type { CapacityReport } from "../plan/capacity/report.js";
import { chartChange, type ChartChange } from "../plan/chartChange.js";
import { snapshotConfigFile, type ConfigSnapshot } from "../engine/configFile.js";
import { applyStack, pendingOperationCount, previewStack, setConfigPath } from "../engine/operations.js";
import { pulumiLocks } from "../locks/pulumiLocks.js";
import { restoreConfigFile } from "../engine/configFile.js";
import { ConfigError, EXIT_CODES, NeedsAttentionError, PolicyRefusedError, toSieFleetError, UsageError, type SieFleetError } from "../../core/errors.js";
import { ProgressEmitter } from "../events/emitter.js";
import { ALWAYS_ALLOWED_CHANGES } from "../../core/defaults.js";
import { digestsJson } from "../../core/imageDigests.js";
import { checkGuardrails, DEFAULT_GUARDRAIL_POLICY } from "../plan/guardrails.js";
import { Journal, JOURNAL_ACTIONS, newRunId } from "../journal/journal.js";
import { applyHolds, applyKedaFreeze, planHolds, planKedaFreeze, settledGates, type KedaFreezeRecord, type ProbeRecord } from "../kube/index.js";
import { CONFIG_SNAPSHOT_FILE, CONFIG_TARGET_FILE } from "../journal/clusterJournal.js";
import { acquireLock } from "../locks/fileLock.js";
import { redactText } from "../../core/redact.js";
import { checkVersionPolicy, parseImageTag } from "../plan/versionPolicy.js";
import { assertStackName } from "../../core/stackName.js";
import { exitCodeForOutcome, type ActionContext, type GateResult, type WaveReport } from "../../core/types.js";
import type { UpgradeResult } from "./results.js";
import { captureBaseline, describeSkipped, skippedChecks, VERIFY_CHECKS, type SkippedCheck, type VerifyCheckName } from "../verify/index.js";
import { unverifiedReason } from "../verify/unverified.js";
import { holdTargets, releaseWorkloads } from "../../core/workloads.js";
import { unverifiedPools, zeroReplicaPools, type ZeroReplicaPoolReport } from "../plan/zeroReplicaPools.js";
import { finalVerification, kedaAfterThaw, kedaGatesFor } from "./upgrade/verification.js";
import { lockCluster } from "../locks/clusterLock.js";
import { loadStackContext, type StackContext } from "./context.js";
import { recoverIfNeeded } from "./recover.js";
import { finishRun, thawIfFrozen, undoRun } from "./upgrade/undo.js";
import { stackTarget } from "./target.js";
import type { ImageDigest } from "../../core/imageDigests.js";
import { recordDigests } from "./upgrade/digestRecord.js";
import { preflightCapacity } from "./upgrade/preflightCapacity.js";
import type { KedaPreflightReport } from "../plan/kedaPolicy.js";
import { preflightReach } from "./upgrade/preflightReach.js";
import { preflightKeda } from "./upgrade/preflightKeda.js";
import { checkPromotion } from "./upgrade/promotionCheck.js";
import { applyWaves, type WaveGates } from "./upgrade/applyWaves.js";

export interface UpgradeOptions {
  stack: string;
  /** Image tag to move to, e.g. "v0.3.2". */
  to: string;
  chartVersion?: string;
  /** Preview and check policy/guardrails only; change nothing. */
  dryRun?: boolean;
  /**
   * Override version-policy, promotion-policy, capacity and KEDA refusals, and digest mismatches
   * (warned, journaled); go on without checks that have nothing to look at (recorded as skipped).
   */
  force?: boolean;
  /** --skip-check: checks this run leaves out, besides rollout.gates.skip; the run then ends succeeded-unverified at best. */
  skipChecks?: readonly VerifyCheckName[];
}

export async function upgrade(opts: UpgradeOptions, ctx: ActionContext): Promise<UpgradeResult> {
  return changeStack({ ...opts, command: "upgrade" }, ctx);
}

/** What `upgrade` and `rollback` share; rollback brings its own way of setting the config. */
export interface ChangeOptions extends UpgradeOptions {
  command: "upgrade" | "rollback";
  /** Sets the target config (default: the image tag, and the chart version if given). */
  applyConfig?: (sc: StackContext) => Promise<void>;
  /** Journal/outcome wording, e.g. "rollback to update 3". */
  label?: string;
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
  const lock = await acquireLock({ stateDir: ctx.stateDir, stack: opts.stack, runId, command, onWarning: (m) => emit.log("warn", "lock", m) });
  try {
    const onProgress = (l: string) => emit.log("info", "preflight", l);
    const found = await loadStackContext(target, { onProgress });
    const cluster = await lockCluster(found, { runId, command, takeover: false, emit, env: ctx.env ?? process.env });
    try {
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
      let sc = withSkippedChecks(loaded, skipped);
      const journal = await Journal.create({
        stateDir: ctx.stateDir,
        stack: opts.stack,
        runId,
        command: opts.command,
        request: { to, chartVersion: opts.chartVersion ?? null, dryRun: !!opts.dryRun, force: !!opts.force, skipChecks: [...(opts.skipChecks ?? [])] },
        secrets: sc.secrets,
        shared: cluster.journal,
      });
      const base = { runId, stack: opts.stack, from: sc.imageTag, to, startedAt: new Date(started).toISOString(), journalPath: journal.path };
      const finish = <T extends object>(r: T) => ({
        ...base,
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        ...(skipped.length > 0 ? { skippedChecks: [...skipped] } : {}),
        ...r,
      });
      try {
        // A chart change is judged first: a chart that replaces workloads also makes the current
        // deployment look unhealthy to the checks below, which would hide the real reason.
        const chart =
          opts.chartVersion && opts.chartVersion !== sc.config.release.version
            ? await judgeChart(sc, to, opts.chartVersion, { force: !!opts.force, env: ctx.env ?? process.env }, emit, journal)
            : undefined;
        if (chart && !chart.verdict.allowed) {
          await journal.recordOutcome("refused", { phase: "preflight", message: chart.verdict.reason });
          emit.outcome("refused", EXIT_CODES.refused, chart.verdict.reason);
          return finish({
            outcome: "refused" as const,
            refusedBy: "guardrail" as const,
            rule: chart.verdict.rule,
            reason: chart.verdict.reason,
            chartChange: chart,
            waves: [],
            gates: [],
          });
        }
        // Promotion evidence is judged first: without it, nothing about this stack matters yet.
        const promotion = opts.command === "upgrade" ? await checkPromotion(sc, { to, force: !!opts.force }, ctx, emit, journal) : undefined;
        const withPromotion = <T extends object>(r: T) => (promotion ? { ...r, promotion: promotion.report } : r);
        const seen: PreflightSeen = {};
        const refusal = promotion?.refusal ?? (await preflight(sc, to, { force: !!opts.force, command: opts.command }, emit, journal, seen));
        const { capacity, keda } = seen;
        if (!refusal) {
          const forced = (seen.forceSkipped ?? []).filter((name) => !skipped.some((s) => s.name === name));
          skipped.push(...forced.map((name) => ({ name, source: "force" as const })));
          sc = withSkippedChecks(sc, skipped);
          if (skipped.length > 0) {
            // Said before anything changes, so even a run killed halfway shows what it did not check.
            const message = `checks left out of this run: ${describeSkipped(skipped)}; it ends succeeded-unverified at best`;
            await journal.decision("preflight", JOURNAL_ACTIONS.checksSkipped, { message, data: skipped });
            emit.log("warn", "preflight", message);
          }
        }
        if (refusal) {
          await journal.recordOutcome("refused", { phase: "preflight", message: refusal.message });
          emit.outcome("refused", refusal.exitCode, refusal.message);
          return withPromotion(
            finish({
              outcome: "refused" as const,
              refusedBy: refusal instanceof PolicyRefusedError ? ("policy" as const) : ("preflight" as const),
              rule: refusal.code,
              reason: refusal.message,
              ...(refusal.exitCode !== EXIT_CODES.refused ? { exitCode: refusal.exitCode } : {}),
              ...(refusal.hint ? { hint: refusal.hint } : {}),
              ...(chart ? { chartChange: chart } : {}),
              ...(capacity ? { capacity } : {}),
              ...(keda ? { keda } : {}),
              waves: [],
              gates: [],
            }),
          );
        }
        const result = withPromotion(await run(sc, journal, emit, { ...opts, to }, ctx, finish, skipped, promotion?.waveGates));
        return { ...result, ...(chart ? { chartChange: chart } : {}), ...(capacity ? { capacity } : {}), ...(keda ? { keda } : {}) };
      } finally {
        await journal.close();
      }
    } finally {
      await cluster.release();
    }
  } finally {
    await lock.release();
  }
}

/** Renders the current and the target chart with Helm and decides whether the change can roll in waves. */
async function judgeChart(
  sc: StackContext,
  to: string,
  chartVersion: string,
  opts: { force: boolean; env: NodeJS.ProcessEnv },
  emit: ProgressEmitter,
  journal: Journal,
): Promise<ChartChange> {
  emit.phase("preflight", "started", `comparing chart ${sc.config.release.version ?? sc.config.release.chart} with ${chartVersion} (helm template of both)`);
  const target = { ...sc.config, release: { ...sc.config.release, version: chartVersion, imageTag: to } } as FleetConfig;
  const change = await chartChange({ config: sc.config, target, projectDir: sc.open.projectDir, env: opts.env, force: opts.force });
  await journal.decision("preflight", JOURNAL_ACTIONS.chartChange, { data: change });
  for (const line of [
    `chart ${change.from} → ${change.to}: ${change.added.length} added, ${change.removed.length} removed, ${change.changed.length} changed`,
    ...change.removed.map((r) => `  - ${r}`),
    ...change.added.map((r) => `  + ${r}`),
    ...change.changed.map((c) => `  ~ ${c.object}: ${c.paths.join(", ")}`),
  ]) {
    emit.log("info", "preflight", line);
  }
  if (change.verdict.allowed) emit.phase("preflight", "succeeded", change.verdict.reason);
  return change;
}

/** The reports of the preflight checks that ran, for the result (a refusal carries them too). */
interface PreflightSeen {
  capacity?: CapacityReport;
  keda?: KedaPreflightReport;
  /** Checks with nothing to look at that --force goes on without. */
  forceSkipped?: VerifyCheckName[];
}

/** The stack context with the run's skipped checks added to rollout.gates.skip, which phaseChecks subtracts. */
function withSkippedChecks(sc: StackContext, skipped: readonly SkippedCheck[]): StackContext {
  const gates = sc.config.rollout.gates;
  const skip = [...new Set([...gates.skip, ...skipped.map((s) => s.name)])];
  if (skip.length === gates.skip.length) return sc;
  const config = { ...sc.config, rollout: { ...sc.config.rollout, gates: { ...gates, skip } } } as FleetConfig;
  return { ...sc, config };
}

async function preflight(
  sc: StackContext,
  to: string,
  opts: { force: boolean; command: ChangeOptions["command"] },
  emit: ProgressEmitter,
  journal: Journal,
  seen: PreflightSeen,
): Promise<SieFleetError | undefined> {
  const { force } = opts;
  emit.phase("preflight", "started", `preflight: ${sc.imageTag} → ${to}`);
  const policy = checkVersionPolicy({ from: sc.imageTag, to, maxMinorSkip: sc.config.rollout.maxMinorSkip, forwardOnly: sc.config.rollout.forwardOnly, force });
  await journal.decision("preflight", JOURNAL_ACTIONS.policyVersion, { data: policy });
  if (!policy.allowed) {
    return new PolicyRefusedError(policy.rule, `version policy refuses ${sc.imageTag} → ${to}: ${policy.reason}`, {
      hint: "upgrade through the intermediate versions, or pass --force if you accept the risk",
    });
  }
  if (policy.direction === "same") {
    return new PolicyRefusedError("same-version", `stack ${sc.open.name} already runs ${to}; nothing to upgrade`, {
      hint: `sie-fleet status --stack ${sc.open.name}`,
    });
  }
  const live = pulumiLocks(sc.open).filter((l) => l.alive);
  if (live.length > 0) {
    return new PolicyRefusedError("pulumi-locked", `another Pulumi operation holds stack ${sc.open.name} (pid ${live.map((l) => l.pid ?? "?").join(", ")})`, {
      hint: "wait for it to finish; if its process is gone, sie-fleet recover removes the lock",
    });
  }
  // Reachable with the stack's kubeconfig: one cheap read before anything else.
  await sc.kube.api.readNamespace(sc.names.namespace);
  // Before the health check: for a Pending worker or a NotReady node it names what is short.
  const capacity = await preflightCapacity(sc, { force }, emit, journal);
  seen.capacity = capacity.report;
  if (capacity.refusal) return capacity.refusal;
  const health = await settledGates(sc.kube.api, sc.names.namespace, releaseWorkloads(sc.names));
  for (const g of health) emit.gate("preflight", g);
  const unhealthy = health.find((g) => g.status === "fail");
  if (unhealthy) {
    return new PolicyRefusedError(
      "unhealthy",
      `the current deployment is not healthy (${unhealthy.name}: ${unhealthy.message}); refusing to upgrade on top of it`,
      { hint: `sie-fleet status --stack ${sc.open.name}; fix it or run sie-fleet recover` },
    );
  }
  // The run freezes every pool at its count and thaws it at the end: that is only safe while KEDA
  // computes those counts from live metrics. A rollback goes on with a warning: it is the way back
  // exactly when metrics are broken.
  const keda = await preflightKeda(sc, { force, rollback: opts.command === "rollback" }, emit, journal);
  seen.keda = keda.report;
  if (keda.refusal) return keda.refusal;
  // A gate that cannot look at what it judges would fail after the apply (a needless revert), or
  // worse, never look: prove each one can reach its Service or Prometheus while nothing has changed.
  const reach = await preflightReach(sc, { force, rollback: opts.command === "rollback" }, emit, journal);
  if (reach.forceSkipped) seen.forceSkipped = reach.forceSkipped;
  if (reach.refusal) return reach.refusal;
  const pending = await pendingOperationCount(sc.open);
  if (pending > 0) {
    return new PolicyRefusedError("pending-operations", `stack ${sc.open.name} has ${pending} pending operation(s) from an interrupted update`, {
      hint: `sie-fleet recover --stack ${sc.open.name}`,
    });
  }
  emit.phase("preflight", "succeeded", "preflight passed");
  return undefined;
}

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

type Finish = <T extends object>(
  r: T,
) => T & { runId: string; stack: string; from: string; to: string; startedAt: string; finishedAt: string; durationMs: number; journalPath: string };

async function run(
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
