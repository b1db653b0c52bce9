// `sie-fleet upgrade --stacks a,b,c --to TAG`: the stacks one after the other, each a whole
// upgrade with its own lock, journal, waves and gates. A stack whose promotion policy is still
// waiting for its source's soak is retried once the soak is over; the first stack that is
// refused for another reason, reverted or needs attention stops the fleet. The fleet journal
// (fleetJournal.ts) lets a killed fleet run resume where it was.
import { systemClock } from "../../core/clock.js";
import { EXIT_CODES, toSieFleetError, UsageError } from "../../core/errors.js";
import { ProgressEmitter } from "../events/emitter.js";
import { FleetJournal, finishedStacks, resumableFleet, type FleetEntry, type FleetStackOutcome } from "../journal/fleetJournal.js";
import { newRunId } from "../journal/journal.js";
import { parseImageTag } from "../plan/versionPolicy.js";
import { assertStackName } from "../../core/stackName.js";
import { exitCodeForOutcome, type ActionContext } from "../../core/types.js";
import type { UpgradeResult } from "./results.js";
import { unverifiedReason } from "../verify/unverified.js";
import type { VerifyCheckName } from "../verify/types.js";
import { upgrade } from "./upgrade.js";

export interface FleetUpgradeOptions {
  /** In order; each later stack usually promotes from the one before. */
  stacks: string[];
  to: string;
  chartVersion?: string;
  force?: boolean;
  /** --skip-check, for every stack (each then ends succeeded-unverified at best, which stops the fleet). */
  skipChecks?: readonly VerifyCheckName[];
}

export interface FleetStackResult {
  stack: string;
  /** `not-run`: the fleet stopped before this stack. */
  outcome: FleetStackOutcome | "not-run";
  exitCode: number;
  /** The stack's run that decided the outcome (its journal has everything). */
  runId?: string;
  message: string;
  /** Upgrade attempts this fleet run made (a soak wait adds one). */
  attempts: number;
  /** Time spent waiting for a promotion's soak. */
  waitedMs: number;
  /** Stable id of the refusing rule or failing gate, when there is one. */
  rule?: string;
}

export interface FleetResult {
  fleetId: string;
  to: string;
  outcome: "succeeded" | "stopped";
  /** The stack the fleet stopped at. */
  stoppedAt?: string;
  exitCode: number;
  /** This run continued a fleet run that was killed. */
  resumed: boolean;
  stacks: FleetStackResult[];
  journalPath: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** Retrying after a soak wait is bounded: clocks that disagree must not loop forever. */
const MAX_ATTEMPTS = 4;

/** What a fleet run does to one stack, and how it waits: the real ones unless a test brings its own. */
export interface FleetDeps {
  upgrade: typeof upgrade;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
}
const REAL: FleetDeps = { upgrade, sleep: systemClock.sleep, now: systemClock.now };

export async function fleetUpgrade(opts: FleetUpgradeOptions, ctx: ActionContext, deps: Partial<FleetDeps> = {}): Promise<FleetResult> {
  const d: FleetDeps = { ...REAL, ...deps };
  const stacks = checkStacks(opts.stacks);
  const to = parseImageTag(opts.to, "--to").raw;
  const started = Date.now();
  const resumeId = await resumableFleet(ctx.stateDir, { stacks, to });
  const fleetId = resumeId ?? newRunId();
  const emit = new ProgressEmitter(ctx.reporter, fleetId);
  let journal: FleetJournal;
  let done = new Map<string, Extract<FleetEntry, { kind: "stack-done" }>>();
  if (resumeId) {
    const opened = await FleetJournal.open(ctx.stateDir, resumeId);
    journal = opened.journal;
    done = finishedStacks(opened.entries);
    const finished = stacks.filter((s) => isThrough(done.get(s)?.outcome));
    emit.log("info", "lock", `resuming fleet run ${fleetId} (killed before it ended): ${finished.join(", ") || "no stack"} done; continuing`);
  } else {
    journal = await FleetJournal.create(ctx.stateDir, fleetId, { stacks, to, chartVersion: opts.chartVersion ?? null, force: !!opts.force });
    emit.log("info", "lock", `fleet run ${fleetId}: ${stacks.join(" → ")} to ${to}`);
  }

  const results: FleetStackResult[] = [];
  let stoppedAt: string | undefined;
  try {
    for (const stack of stacks) {
      if (stoppedAt) {
        results.push({ stack, outcome: "not-run", exitCode: EXIT_CODES.ok, message: `not run: the fleet stopped at ${stoppedAt}`, attempts: 0, waitedMs: 0 });
        continue;
      }
      const earlier = done.get(stack);
      if (earlier && isThrough(earlier.outcome)) {
        const r = {
          stack,
          outcome: earlier.outcome,
          exitCode: earlier.exitCode,
          message: `${earlier.message} (earlier in this fleet run)`,
          attempts: 0,
          waitedMs: 0,
        };
        results.push({ ...r, ...(earlier.runId ? { runId: earlier.runId } : {}) });
        continue;
      }
      await journal.append({ kind: "stack-start", stack });
      const r = await upgradeOne(stack, { ...opts, to }, ctx, emit, journal, d);
      results.push(r);
      await journal.append({
        kind: "stack-done",
        stack,
        outcome: r.outcome as FleetStackOutcome,
        exitCode: r.exitCode,
        message: r.message,
        ...(r.runId ? { runId: r.runId } : {}),
      });
      emit.emit({
        kind: "stack",
        phase: "done",
        stack,
        outcome: r.outcome,
        exitCode: r.exitCode,
        message: `${stack}: ${r.message}`,
        ...(r.runId ? { stackRunId: r.runId } : {}),
      });
      if (!isThrough(r.outcome)) stoppedAt = stack;
    }
    const exitCode = stoppedAt ? (results.find((r) => r.stack === stoppedAt)?.exitCode ?? EXIT_CODES.internal) : EXIT_CODES.ok;
    await journal.append({ kind: "end", outcome: stoppedAt ? "stopped" : "succeeded", exitCode });
    return {
      fleetId,
      to,
      outcome: stoppedAt ? "stopped" : "succeeded",
      ...(stoppedAt ? { stoppedAt } : {}),
      exitCode,
      resumed: resumeId !== undefined,
      stacks: results,
      journalPath: journal.path,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
  } finally {
    await journal.close();
  }
}

/** Whether the fleet goes on past a stack that ended so. */
function isThrough(outcome: FleetStackOutcome | "not-run" | undefined): boolean {
  return outcome === "succeeded" || outcome === "already";
}

function checkStacks(list: readonly string[]): string[] {
  const stacks = list.map((s) => assertStackName(s.trim(), "--stacks"));
  if (stacks.length === 0) throw new UsageError("--stacks needs at least one stack, e.g. --stacks staging,prod", { code: "bad-flags" });
  const twice = stacks.find((s, i) => stacks.indexOf(s) !== i);
  if (twice) throw new UsageError(`--stacks lists ${twice} twice; list each stack once, in the order to upgrade them`, { code: "bad-flags" });
  return stacks;
}

async function upgradeOne(
  stack: string,
  opts: FleetUpgradeOptions,
  ctx: ActionContext,
  emit: ProgressEmitter,
  journal: FleetJournal,
  d: FleetDeps,
): Promise<FleetStackResult> {
  let waitedMs = 0;
  for (let attempt = 1; ; attempt++) {
    let r: UpgradeResult;
    try {
      r = await d.upgrade(
        {
          stack,
          to: opts.to,
          ...(opts.chartVersion ? { chartVersion: opts.chartVersion } : {}),
          ...(opts.force ? { force: true } : {}),
          ...(opts.skipChecks?.length ? { skipChecks: opts.skipChecks } : {}),
        },
        ctx,
      );
    } catch (err) {
      const e = toSieFleetError(err);
      // Interrupted: the fleet run stays unfinished, so running the command again resumes it.
      if (e.exitCode === EXIT_CODES.interrupted) throw e;
      return { stack, outcome: "error", exitCode: e.exitCode, message: `${e.code}: ${e.message}`, attempts: attempt, waitedMs, rule: e.code };
    }
    const wait = soakWaitMs(r, d.now());
    if (wait !== undefined && attempt < MAX_ATTEMPTS) {
      const until = new Date(d.now() + wait).toISOString();
      const message = `${stack} waits ${Math.ceil(wait / 1000)} s, until ${until}, for ${r.promotion?.from}'s soak of ${opts.to} (run ${r.promotion?.evidence?.runId})`;
      await journal.append({ kind: "wait", stack, until, message });
      emit.log("info", "preflight", message);
      await d.sleep(wait, ctx.signal);
      waitedMs += wait;
      continue;
    }
    return { stack, ...stackOutcome(r), runId: r.runId, attempts: attempt, waitedMs };
  }
}

/** How long until a refusal for the source's soak is over; undefined for any other result. */
export function soakWaitMs(r: UpgradeResult, now: number): number | undefined {
  const p = r.promotion;
  if (r.outcome !== "refused" || p?.rule !== "promotion-soaking" || !p.evidence) return undefined;
  // A second past the end, so the retry is not judged a moment too early.
  return Math.max(0, new Date(p.evidence.verifiedAt).getTime() + p.minSoakMinutes * 60_000 - now + 1_000);
}

/** A stack's upgrade result as the fleet reads it. */
function stackOutcome(r: UpgradeResult): Pick<FleetStackResult, "outcome" | "exitCode" | "message" | "rule"> {
  switch (r.outcome) {
    case "succeeded":
      return { outcome: "succeeded", exitCode: EXIT_CODES.ok, message: `upgraded ${r.from ?? "?"} → ${r.to}` };
    case "succeeded-unverified":
      // The fleet stops here: a tag no gate saw on some pools, or not judged by every check, is
      // not carried to the next stack.
      return {
        outcome: "succeeded-unverified",
        exitCode: exitCodeForOutcome("succeeded-unverified"),
        message: `upgraded ${r.from ?? "?"} → ${r.to}, ${unverifiedReason(r)}`,
      };
    case "refused":
      // The stack already runs the tag (an earlier fleet run, or by hand): nothing to do there.
      if (r.rule === "policy-same-version") return { outcome: "already", exitCode: EXIT_CODES.ok, message: `already runs ${r.to}` };
      return { outcome: "refused", exitCode: exitCodeForOutcome("refused"), message: `refused: ${r.reason}`, rule: r.rule };
    case "reverted":
      return {
        outcome: "reverted",
        exitCode: exitCodeForOutcome("reverted"),
        message: `reverted to ${r.revertedTo}: ${r.failedGate.name}: ${r.failedGate.message}`,
        rule: r.failedGate.name,
      };
    case "needs-attention":
      return { outcome: "needs-attention", exitCode: exitCodeForOutcome("needs-attention"), message: `needs attention: ${r.reason}` };
    case "dry-run":
      return { outcome: "succeeded", exitCode: EXIT_CODES.ok, message: "dry run" };
  }
}
