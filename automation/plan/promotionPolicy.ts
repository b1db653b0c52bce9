/**
 * The promotion policy: a stack takes a tag only once another stack (its `from`) ran that tag
 * through a successful, verified sie-fleet upgrade, kept it for `minSoakMinutes`, and still runs
 * it; and the pods it rolls run the very digests that run verified. Pure: actions/upgrade/promotionCheck.ts
 * gathers the facts (the source stack's journals, config and pods) and acts on these verdicts.
 */
import { digestPlace, digestsFromJson, type ImageDigest } from "../../core/imageDigests.js";
import type { JournalRead } from "../journal/journal.js";

export interface PromotionPolicy {
  /** The stack a tag must have proven itself on first. */
  from: string;
  minSoakMinutes: number;
}

/** Commands whose successful runs went through waves, gates and the final verification. */
const VERIFIED_COMMANDS = ["upgrade", "rollback"];

/** One run of the source stack, as its journal records it. */
export interface SourceRun {
  runId: string;
  command: string;
  /** The requested tag (`--to`), when the command took one. */
  to?: string;
  /** The terminal outcome, or "unfinished" for a run under way or killed. */
  outcome: string;
  /** When the outcome was written: for a success, when verification had passed. */
  finishedAt?: string;
  /** What the run's pods ran when it succeeded. */
  digests?: ImageDigest[];
}

/** One run as the promotion policy needs it: command, requested tag, outcome and its recorded digests. */
export function sourceRun(read: Pick<JournalRead, "runId" | "entries">): SourceRun {
  const start = read.entries.find((e) => e.kind === "start");
  const outcome = read.entries.findLast((e) => e.kind === "outcome");
  const request = start?.data as { to?: unknown } | undefined;
  const data = outcome?.data as { digests?: unknown } | undefined;
  const digests = digestsFromJson(data?.digests);
  return {
    runId: read.runId,
    command: String(start?.command ?? "?"),
    ...(typeof request?.to === "string" ? { to: request.to } : {}),
    outcome: outcome?.outcome ?? "unfinished",
    ...(outcome ? { finishedAt: outcome.time } : {}),
    ...(digests ? { digests } : {}),
  };
}

/** The source stack now. */
export interface SourceState {
  stack: string;
  /** The image tag its last deployment applied. */
  configTag: string;
  /** What its pods run now. */
  live: ImageDigest[];
  /** Its runs, oldest first. */
  runs: SourceRun[];
}

export const PROMOTION_RULES = {
  /** The source never ran the tag through a successful verified upgrade. */
  unverified: "promotion-unverified",
  /** It did, but recorded no digests (an older sie-fleet). */
  noDigests: "promotion-no-digests",
  /** It did, less than minSoakMinutes ago. */
  soaking: "promotion-soaking",
  /** It no longer runs what it verified. */
  notRunning: "promotion-not-running",
  /** A run of the source is under way or was left unfinished: its state is not settled. */
  sourceBusy: "promotion-source-busy",
  /** The source stack could not be read at all. */
  sourceUnreadable: "promotion-source-unreadable",
} as const;
export type PromotionRule = (typeof PROMOTION_RULES)[keyof typeof PROMOTION_RULES];

/** The run that proved the tag on the source. */
export interface PromotionEvidence {
  runId: string;
  command: string;
  verifiedAt: string;
  /** Minutes since verifiedAt, when the verdict was made. */
  soakedMinutes: number;
  digests: ImageDigest[];
}

export type PromotionVerdict =
  | { allowed: true; from: string; tag: string; evidence: PromotionEvidence; message: string }
  | {
      allowed: false;
      from: string;
      tag: string;
      rule: PromotionRule;
      /** Names the evidence that is missing. */
      reason: string;
      /** The fix. */
      hint: string;
      /** The run that would count, when there is one (soaking, not running any more). */
      evidence?: PromotionEvidence;
    };

export interface PromotionInput {
  /** The stack being upgraded. */
  stack: string;
  tag: string;
  policy: PromotionPolicy;
  source: SourceState;
  now: number;
}

const minutes = (m: number): string => `${m >= 10 ? Math.round(m) : Math.round(m * 10) / 10} min`;

export function decidePromotion(input: PromotionInput): PromotionVerdict {
  const { stack, tag, policy, source, now } = input;
  const from = source.stack;
  const refuse = (rule: PromotionRule, reason: string, hint: string, evidence?: PromotionEvidence): PromotionVerdict => ({
    allowed: false,
    from,
    tag,
    rule,
    reason,
    hint: `${hint}; or pass --force to promote without this evidence (recorded in the journal)`,
    ...(evidence ? { evidence } : {}),
  });
  const upgradeFrom = `sie-fleet upgrade --stack ${from} --to ${tag} --yes`;

  const last = source.runs.at(-1);
  if (last && last.outcome === "unfinished") {
    return refuse(
      PROMOTION_RULES.sourceBusy,
      `stack ${from} has a run under way or left unfinished (run ${last.runId}, ${last.command}${last.to ? ` --to ${last.to}` : ""}), so what it runs is not settled`,
      `wait for it to end (sie-fleet status --stack ${from}), or if its process is gone: sie-fleet recover --stack ${from}`,
    );
  }

  const proving = source.runs.filter((r) => r.outcome === "succeeded" && r.to === tag && VERIFIED_COMMANDS.includes(r.command));
  const run = proving.at(-1);
  if (!run?.finishedAt) {
    const lastGood = source.runs.filter((r) => r.outcome === "succeeded" && r.to !== undefined).at(-1);
    return refuse(
      PROMOTION_RULES.unverified,
      `stack ${stack} is promoted from ${from}, and ${from} never ran ${tag} through a successful verified sie-fleet upgrade ` +
        `(${lastGood ? `its last successful one went to ${lastGood.to} in run ${lastGood.runId}` : "it has no successful sie-fleet upgrade at all"})`,
      `upgrade ${from} first (${upgradeFrom}), let it soak ${minutes(policy.minSoakMinutes)}, then run this again`,
    );
  }
  const soakedMinutes = (now - new Date(run.finishedAt).getTime()) / 60_000;
  if (!run.digests || run.digests.length === 0) {
    return refuse(
      PROMOTION_RULES.noDigests,
      `stack ${from} ran ${tag} through run ${run.runId}, which recorded no image digests (an older sie-fleet, or its pods could not be read), so there is nothing to compare ${stack}'s pods with`,
      `upgrade ${from} again (rollback to the previous tag, then ${upgradeFrom}) so the run records its digests`,
    );
  }
  const evidence: PromotionEvidence = { runId: run.runId, command: run.command, verifiedAt: run.finishedAt, soakedMinutes, digests: run.digests };

  if (source.configTag !== tag) {
    return refuse(
      PROMOTION_RULES.notRunning,
      `stack ${from} verified ${tag} in run ${run.runId} (${run.finishedAt}) but no longer runs it: its last deployment applied ${source.configTag}`,
      `promote what ${from} runs now, or bring ${from} back to ${tag} (${upgradeFrom}) and let it soak again`,
      evidence,
    );
  }
  const drift = driftFromVerified(run.digests, source.live);
  if (drift) {
    return refuse(
      PROMOTION_RULES.notRunning,
      `stack ${from} verified ${tag} in run ${run.runId} but no longer runs what it verified: ${drift}`,
      `find out why ${from}'s pods changed (sie-fleet status --stack ${from}); upgrade ${from} to ${tag} again so the new digests are verified`,
      evidence,
    );
  }
  if (soakedMinutes < policy.minSoakMinutes) {
    const until = new Date(new Date(run.finishedAt).getTime() + policy.minSoakMinutes * 60_000).toISOString();
    return refuse(
      PROMOTION_RULES.soaking,
      `stack ${from} verified ${tag} only ${minutes(soakedMinutes)} ago (run ${run.runId}, ${run.finishedAt}); the promotion policy asks for ${minutes(policy.minSoakMinutes)} of soak (${minutes(policy.minSoakMinutes - soakedMinutes)} to go)`,
      `run this again after ${until}`,
      evidence,
    );
  }
  return {
    allowed: true,
    from,
    tag,
    evidence,
    message: `stack ${from} verified ${tag} in run ${run.runId} ${minutes(soakedMinutes)} ago (policy: ≥ ${minutes(policy.minSoakMinutes)}) and still runs it`,
  };
}

/**
 * How what the source runs now differs from what its run verified, or undefined when it does not:
 * every verified image it still runs must be at a verified digest, and it must still run at least
 * one of them. Images the run did not record (a pool added since) are not judged here.
 */
function driftFromVerified(verified: readonly ImageDigest[], live: readonly ImageDigest[]): string | undefined {
  const byImage = digestsByImage(verified);
  const relevant = live.filter((d) => byImage.has(d.image));
  if (relevant.length === 0) return `none of its pods runs an image the run verified (${[...byImage.keys()].join(", ")})`;
  const moved = relevant.find((d) => !byImage.get(d.image)!.has(d.digest));
  if (moved) return `${digestPlace(moved)} runs ${moved.image} at ${moved.digest}, the run verified ${[...byImage.get(moved.image)!].join(", ")}`;
  return undefined;
}

function digestsByImage(list: readonly ImageDigest[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const d of list) {
    let s = out.get(d.image);
    if (!s) {
      s = new Set();
      out.set(d.image, s);
    }
    s.add(d.digest);
  }
  return out;
}

/** An image a target pod runs at a digest the source never verified. */
export interface DigestMismatch {
  image: string;
  workload: string;
  pool?: string;
  /** What the target's pods run. */
  actual: string;
  /** What the source verified for this image; empty when it never ran the image at all. */
  expected: string[];
}

export interface DigestComparison {
  ok: boolean;
  /** Images compared (distinct image + digest pairs of the target). */
  compared: number;
  mismatches: DigestMismatch[];
}

/** The target's new pods against the source's verified record, image by image. */
export function compareDigests(verified: readonly ImageDigest[], actual: readonly ImageDigest[]): DigestComparison {
  const byImage = digestsByImage(verified);
  const mismatches: DigestMismatch[] = [];
  for (const d of actual) {
    const expected = byImage.get(d.image);
    if (expected?.has(d.digest)) continue;
    mismatches.push({ image: d.image, workload: d.workload, ...(d.pool ? { pool: d.pool } : {}), actual: d.digest, expected: [...(expected ?? [])] });
  }
  return { ok: mismatches.length === 0, compared: actual.length, mismatches };
}

/** One line per mismatch, naming both digests. */
export function describeMismatch(m: DigestMismatch, from: string): string {
  const where = digestPlace(m);
  if (m.expected.length === 0) return `${where} runs ${m.image} at ${m.actual}; ${from} never ran that image, so it was never verified`;
  return `${where} runs ${m.image} at ${m.actual}, but ${from} verified it at ${m.expected.join(" / ")}: the tag now points at another image`;
}
