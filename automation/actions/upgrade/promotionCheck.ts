// The promotion policy during an upgrade (`rollout.promotion`): before anything changes, the
// source stack's journals, config and pods must show that it verified the tag, soaked it and
// still runs it; once each wave has rolled, the pods it released must run the digests that run
// verified. `--force` overrides both, loudly and on the record.
import { digestsJson, type ImageDigest } from "../../../core/imageDigests.js";
import { ConfigError, EXIT_CODES, PolicyRefusedError, toSieFleetError } from "../../../core/errors.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { JOURNAL_ACTIONS, readRuns, type Journal } from "../../journal/journal.js";
import { workloadDigests } from "../../kube/index.js";
import {
  compareDigests,
  decidePromotion,
  describeMismatch,
  PROMOTION_RULES,
  sourceRun,
  type PromotionEvidence,
  type PromotionPolicy,
  type PromotionVerdict,
  type SourceState,
} from "../../plan/promotionPolicy.js";
import type { ActionContext, GateResult, WaveSpec } from "../../../core/types.js";
import { releaseWorkloads, type Workload } from "../../../core/workloads.js";
import { sharedJournal } from "../../locks/clusterLock.js";
import { releaseOf, type RecordedConfig } from "../history.js";
import { loadStackContext, type StackContext } from "../context.js";
import { stackTarget } from "../target.js";

/** What an upgrade's result says about the promotion (docs/json-output.md). */
export interface PromotionReport {
  from: string;
  minSoakMinutes: number;
  /** Whether the policy allowed the upgrade on its own. */
  allowed: boolean;
  /** The refusing rule, e.g. "promotion-soaking", when not allowed. */
  rule?: string;
  /** Why it was allowed, or the evidence that is missing. */
  reason: string;
  /** The source's run that verified the tag, when there is one. */
  evidence?: Omit<PromotionEvidence, "digests"> & { digests: ImageDigest[] };
  /** --force overrode a refusal or a digest mismatch. */
  overridden: boolean;
  /** Per wave: the released pods' digests against the verified ones. */
  digestChecks: { wave: string; status: GateResult["status"]; message: string }[];
}

export interface PromotionCheck {
  report: PromotionReport;
  /** Set when the policy refuses and --force was not given: nothing may change. */
  refusal?: PolicyRefusedError;
  /** The digest gate each wave runs once its pods rolled out. */
  waveGates: (wave: WaveSpec, workloads: readonly Workload[]) => Promise<GateResult[]>;
}

export const DIGEST_GATE = "promotion-digests";
const FORCE_HINT = "or pass --force to promote without this evidence (recorded in the journal)";

/** Undefined when the stack has no promotion policy. */
export async function checkPromotion(
  sc: StackContext,
  opts: { to: string; force: boolean },
  ctx: ActionContext,
  emit: ProgressEmitter,
  journal: Journal,
): Promise<PromotionCheck | undefined> {
  const policy = sc.config.rollout.promotion;
  if (!policy) return undefined;
  const stack = sc.open.name;
  if (policy.from === stack) {
    const err = new ConfigError(
      [
        {
          key: "sie-fleet:rollout.promotion.from",
          reason: `names this stack (${stack}) itself`,
          hint: "name the stack this one is promoted from, e.g. staging, or remove sie-fleet:rollout.promotion",
        },
      ],
      { hint: `fix stacks/Pulumi.${stack}.yaml and run again` },
    );
    await journal.recordOutcome("failed", { phase: "preflight", message: err.message });
    throw err;
  }
  emit.phase(
    "preflight",
    "started",
    `promotion: ${opts.to} must have passed a verified upgrade of ${policy.from} at least ${policy.minSoakMinutes} min ago, and still run there`,
  );
  const verdict = await judge(stack, opts.to, policy, ctx);
  const evidence = verdict.evidence;
  const report: PromotionReport = {
    from: policy.from,
    minSoakMinutes: policy.minSoakMinutes,
    allowed: verdict.allowed,
    ...(verdict.allowed ? {} : { rule: verdict.rule }),
    reason: verdict.allowed ? verdict.message : verdict.reason,
    ...(evidence ? { evidence } : {}),
    overridden: false,
    digestChecks: [],
  };
  await journal.decision("preflight", JOURNAL_ACTIONS.policyPromotion, {
    message: report.reason,
    data: { policy, verdict: { ...verdict, ...(evidence ? { evidence: { ...evidence, digests: digestsJson(evidence.digests) } } : {}) }, force: opts.force },
  });
  let refusal: PolicyRefusedError | undefined;
  if (verdict.allowed) emit.phase("preflight", "succeeded", `promotion: ${verdict.message}`);
  else if (opts.force) {
    report.overridden = true;
    const message = `‼ --force overrides the promotion policy (${verdict.rule}): ${verdict.reason}`;
    emit.log("warn", "preflight", message);
    await journal.decision("preflight", JOURNAL_ACTIONS.promotionOverride, { message, data: { rule: verdict.rule, reason: verdict.reason } });
  } else {
    refusal = new PolicyRefusedError(verdict.rule, `promotion policy refuses ${opts.to} for stack ${stack}: ${verdict.reason}`, {
      hint: verdict.hint,
      details: { from: policy.from, rule: verdict.rule, ...(evidence ? { evidenceRun: evidence.runId } : {}) },
    });
  }
  return {
    report,
    ...(refusal ? { refusal } : {}),
    waveGates: digestGate(sc, policy.from, evidence?.digests, opts.force, report, emit, journal),
  };
}

async function judge(stack: string, tag: string, policy: PromotionPolicy, ctx: ActionContext): Promise<PromotionVerdict> {
  let source: SourceState;
  try {
    source = await readSourceState(policy.from, ctx);
  } catch (err) {
    const e = toSieFleetError(err);
    if (e.exitCode === EXIT_CODES.interrupted) throw e;
    return {
      allowed: false,
      from: policy.from,
      tag,
      rule: PROMOTION_RULES.sourceUnreadable,
      reason: `stack ${stack} is promoted from ${policy.from}, whose evidence cannot be read: ${e.message}`,
      hint: `${e.hint ?? `check that stack ${policy.from} exists in this project's backend (pulumi stack ls) and that its cluster answers`}; ${FORCE_HINT}`,
    };
  }
  return decidePromotion({ stack, tag, policy, source, now: Date.now() });
}

/**
 * The source stack as the promotion policy reads it: its runs (both journal copies), the tag its
 * last deployment applied and what its pods run. The deployed tag comes from the backend, not
 * from this checkout's copy of the source's stack file, which may lag behind the machine that
 * upgraded it.
 */
async function readSourceState(from: string, ctx: ActionContext): Promise<SourceState> {
  const sc = await loadStackContext(stackTarget(from, ctx));
  const [runs, live, updates] = await Promise.all([
    readRuns(ctx.stateDir, from, sharedJournal(sc)),
    workloadDigests(sc.kube.api, sc.names.namespace, releaseWorkloads(sc.names)),
    sc.open.stack.history(undefined, undefined, false),
  ]);
  const newest = updates.filter((u) => u.kind === "update").sort((a, b) => new Date(b.startTime).getTime() - new Date(a.startTime).getTime())[0];
  const deployed = newest ? releaseOf((newest.config ?? {}) as RecordedConfig).imageTag : undefined;
  return { stack: from, configTag: deployed ?? sc.imageTag, live, runs: runs.map(sourceRun) };
}

function digestGate(
  sc: StackContext,
  from: string,
  verified: readonly ImageDigest[] | undefined,
  force: boolean,
  report: PromotionReport,
  emit: ProgressEmitter,
  journal: Journal,
): PromotionCheck["waveGates"] {
  return async (wave, workloads) => {
    const started = Date.now();
    const gate = (status: GateResult["status"], message: string, evidence: GateResult["evidence"]): GateResult => ({
      name: DIGEST_GATE,
      status,
      message,
      evidence: { from, ...evidence },
      durationMs: Date.now() - started,
    });
    let result: GateResult;
    if (!verified) {
      // Only reachable with --force: there is no verified record at all.
      result = gate("warn", `‼ --force: ${from} verified no digests to compare with; wave ${wave.name} rolls images nobody verified`, {});
    } else {
      try {
        const actual = await workloadDigests(sc.kube.api, sc.names.namespace, workloads, { newRevisionOnly: true });
        const cmp = compareDigests(verified, actual);
        const evidence = { actual: digestsJson(actual), ...(cmp.ok ? {} : { mismatches: JSON.parse(JSON.stringify(cmp.mismatches)) }) };
        if (cmp.ok) {
          result = gate(
            "pass",
            actual.length === 0
              ? `wave ${wave.name} has no running pods to compare`
              : `the ${actual.length} image digest(s) wave ${wave.name} runs are the ones ${from} verified`,
            evidence,
          );
        } else {
          const what = cmp.mismatches.map((m) => describeMismatch(m, from)).join("; ");
          result = force ? gate("warn", `‼ --force: promoting anyway although ${what}`, evidence) : gate("fail", what, evidence);
        }
      } catch (err) {
        const what = `the digests the pods of wave ${wave.name} run could not be read: ${(err as Error).message}`;
        result = gate(force ? "warn" : "fail", force ? `‼ --force: ${what}` : what, {});
      }
    }
    report.digestChecks.push({ wave: wave.name, status: result.status, message: result.message });
    if (result.status === "warn") {
      report.overridden = true;
      emit.log("warn", "wave", result.message, { wave: wave.name });
      await journal.decision("wave", JOURNAL_ACTIONS.promotionOverride, { message: result.message, data: { wave: wave.name, gate: result.name } });
    }
    return [result];
  };
}
