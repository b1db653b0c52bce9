/**
 * Flag value parsers for commander. Each throws InvalidArgumentError with the expected form and an
 * example; commander prefixes it with the flag and the value, so the message names all three.
 */
import { InvalidArgumentError } from "commander";
import * as semver from "semver";
import { tryParseImageTag } from "../plan/versionPolicy.js";
import { isValidStackName } from "../../core/stackName.js";
import type { RollbackTarget } from "../../core/types.js";
import { VERIFY_CHECKS, type VerifyCheckName } from "../../infra/config/configSchema.js";

export function parseTagArg(value: string): string {
  if (!tryParseImageTag(value)) {
    throw new InvalidArgumentError("expected an image tag vMAJOR.MINOR.PATCH with an optional -suffix, e.g. v0.3.2 or v0.3.2-errors10.");
  }
  return value;
}

export function parseChartVersionArg(value: string): string {
  if (!semver.valid(value.replace(/^v/, ""))) {
    throw new InvalidArgumentError("expected a chart version MAJOR.MINOR.PATCH, e.g. 0.3.2.");
  }
  return value;
}

export function parseStackArg(value: string): string {
  if (!isValidStackName(value)) {
    throw new InvalidArgumentError('use letters, digits, "_", "-" and "." (not first), at most 100 characters, e.g. dev.');
  }
  return value;
}

/** `a,b,c`: stack names in order. */
export function parseStackListArg(value: string): string[] {
  const list = value.split(",").map((s) => s.trim());
  if (list.length === 0 || list.some((s) => !isValidStackName(s))) {
    throw new InvalidArgumentError('expected stack names separated by commas, in order, e.g. staging,prod (each letters, digits, "_", "-" and "." not first).');
  }
  return list;
}

export function parsePositiveIntArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("expected a whole number ≥ 1, e.g. 10.");
  }
  return n;
}

/** One value of a repeatable flag whose values are checked later (e.g. --start-delay), added to the ones before. */
export function collectArg(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One `--skip-check <name>` (repeatable): a check name, added to the ones before. */
export function collectCheckArg(value: string, previous: VerifyCheckName[] = []): VerifyCheckName[] {
  if (!(VERIFY_CHECKS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `expected a check name, one of ${VERIFY_CHECKS.join(", ")}; repeat the flag for more, e.g. --skip-check metric-gates --skip-check prometheus.`,
    );
  }
  return previous.includes(value as VerifyCheckName) ? previous : [...previous, value as VerifyCheckName];
}

/** `previous`, an image tag, or `update:<n>` (an update number from `history`). */
export function parseRollbackTarget(value: string): RollbackTarget {
  if (value === "previous") return { kind: "previous" };
  const m = /^update:(\d+)$/.exec(value);
  if (m) {
    const version = Number(m[1]);
    if (!Number.isSafeInteger(version) || version < 1) throw new InvalidArgumentError("update numbers start at 1, e.g. update:12.");
    return { kind: "update", version };
  }
  if (tryParseImageTag(value)) return { kind: "tag", tag: value };
  throw new InvalidArgumentError("expected previous, an image tag like v0.3.1, or update:<n> with a number from `sie-fleet history`.");
}
