/**
 * Image tags and the version policy. Pure.
 *
 * SIE tags look like `v0.3.1` or `0.3.1`; test and fault-injection builds add a suffix
 * (`v0.3.2-errors10`, `v0.3.2-crashloop`). Semver reads the suffix as a prerelease, which would
 * make `v0.3.2-crashloop` sort *below* `v0.3.2`; the policy therefore compares only the X.Y.Z core
 * and treats the suffix as a build flavour.
 */
import * as semver from "semver";
import { UsageError } from "../../core/errors.js";

const TAG = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z][0-9A-Za-z.-]*))?$/;

export interface ImageTag {
  /** As given, e.g. "v0.3.2-errors10". */
  raw: string;
  /** "0.3.2": what the policy compares. */
  core: string;
  major: number;
  minor: number;
  patch: number;
  /** "errors10", or undefined for a release tag. */
  suffix: string | undefined;
  /** Full semver of the tag (suffix as prerelease), for display and exact comparisons. */
  semver: semver.SemVer;
}

/** Parses an image tag or returns undefined. */
export function tryParseImageTag(raw: string): ImageTag | undefined {
  const m = TAG.exec(raw.trim());
  if (!m) return undefined;
  const parsed = semver.parse(raw.trim().replace(/^v/, ""));
  if (!parsed) return undefined;
  return {
    raw,
    core: `${parsed.major}.${parsed.minor}.${parsed.patch}`,
    major: parsed.major,
    minor: parsed.minor,
    patch: parsed.patch,
    suffix: m[4],
    semver: parsed,
  };
}

/** Parses an image tag or throws a UsageError that names the flag and the expected form. */
export function parseImageTag(raw: string, flag = "--to"): ImageTag {
  const tag = tryParseImageTag(raw);
  if (!tag) {
    throw new UsageError(`${flag} "${raw}" is not an image tag: expected vMAJOR.MINOR.PATCH with an optional -suffix, e.g. v0.3.2 or v0.3.2-errors10`, {
      code: "bad-tag",
    });
  }
  return tag;
}

export interface VersionPolicyInput {
  /** Tag running now. */
  from: string;
  /** Requested tag. */
  to: string;
  /** Minor versions that may be skipped in one upgrade (0.3 → 0.5 skips one). */
  maxMinorSkip: number;
  /** Versions (X.Y.Z, optional "v") that cannot be rolled back across once reached. */
  forwardOnly: readonly string[];
  /** --force: refusals become warnings. */
  force: boolean;
}

export type VersionPolicyRule = "major-change" | "skip-too-large" | "forward-only-downgrade" | "forward-only-crossing";

export type VersionDirection = "upgrade" | "downgrade" | "same" | "flavour";

export interface PolicyFinding {
  rule: VersionPolicyRule;
  /** What, the values, what to do. */
  message: string;
}

export type VersionPolicyResult =
  | {
      allowed: true;
      direction: VersionDirection;
      /** Rules that would have refused, overridden by force. */
      overridden: PolicyFinding[];
      /** False when the change crosses a forward-only version: an automatic revert cannot go back. */
      revertPossible: boolean;
    }
  | {
      allowed: false;
      direction: VersionDirection;
      /** The first refusing rule; `findings` lists them all. */
      rule: VersionPolicyRule;
      reason: string;
      findings: PolicyFinding[];
    };

/**
 * Decides whether moving from `from` to `to` is allowed. Refuses a major change, skipping more
 * than `maxMinorSkip` minors, a downgrade below a forward-only version, and an upgrade across one
 * (the automatic revert would be a forbidden downgrade); `force` overrides all of them.
 * Throws UsageError for unparsable tags.
 */
export function checkVersionPolicy(input: VersionPolicyInput): VersionPolicyResult {
  const from = parseImageTag(input.from, "current tag");
  const to = parseImageTag(input.to, "--to");
  const forwardOnly = input.forwardOnly.map((v) => parseImageTag(v, "forwardOnly entry"));

  const cmp = semver.compare(to.core, from.core);
  const direction: VersionDirection = cmp > 0 ? "upgrade" : cmp < 0 ? "downgrade" : to.suffix === from.suffix ? "same" : "flavour";
  const findings: PolicyFinding[] = [];

  if (to.major !== from.major) {
    findings.push({
      rule: "major-change",
      message: `${from.raw} → ${to.raw} changes the major version (${from.major} → ${to.major}); major upgrades can break the API and need a planned migration — follow the release notes, or re-run with --force`,
    });
  } else if (direction === "upgrade") {
    const skipped = to.minor - from.minor - 1;
    if (skipped > input.maxMinorSkip) {
      const between = Array.from({ length: skipped }, (_, i) => `${from.major}.${from.minor + 1 + i}`);
      const waypoint = `v${from.major}.${from.minor + input.maxMinorSkip + 1}.0`;
      findings.push({
        rule: "skip-too-large",
        message: `${from.raw} → ${to.raw} skips ${skipped} minor version(s) (${between.join(", ")}); the policy allows at most ${input.maxMinorSkip} — upgrade through ${waypoint} first, or re-run with --force`,
      });
    }
  }

  let revertPossible = true;
  for (const f of forwardOnly) {
    const fromAtOrAbove = semver.gte(from.core, f.core);
    const toAtOrAbove = semver.gte(to.core, f.core);
    if (fromAtOrAbove && !toAtOrAbove) {
      findings.push({
        rule: "forward-only-downgrade",
        message: `${from.raw} → ${to.raw} goes back below ${f.raw}, which is marked forward-only (its changes cannot be undone by running an older version); stay at ${f.core} or later, or re-run with --force`,
      });
    } else if (!fromAtOrAbove && toAtOrAbove) {
      revertPossible = false;
      findings.push({
        rule: "forward-only-crossing",
        message: `${from.raw} → ${to.raw} crosses ${f.raw}, which is marked forward-only: if the upgrade fails it cannot be reverted automatically; upgrade to the version before ${f.raw} first, or re-run with --force to accept a one-way upgrade`,
      });
    }
  }

  if (findings.length > 0 && !input.force) {
    const first = findings[0]!;
    return { allowed: false, direction, rule: first.rule, reason: first.message, findings };
  }
  return { allowed: true, direction, overridden: findings, revertPossible };
}
