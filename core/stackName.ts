/**
 * Stack names become file names (locks, journals), so they are checked before any path is built:
 * a name like "../x" must never escape the state directory.
 */
import { UsageError } from "./errors.js";

/** The rule, for the CLI's flags here and for stack-file keys that name another stack (infra/config). */
export const STACK_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
/** The rule in words, for messages. */
export const STACK_NAME_RULE = `letters, digits, "_", "-" and "." (not first), at most 100 characters`;

export function isValidStackName(name: string): boolean {
  return STACK_NAME_PATTERN.test(name);
}

/** Throws a UsageError naming the value and the rule unless `name` is a usable stack name. */
export function assertStackName(name: string, flag = "--stack"): string {
  if (!isValidStackName(name)) {
    throw new UsageError(`${flag} "${name}" is not a valid stack name: use ${STACK_NAME_RULE}`, {
      code: "bad-stack-name",
      hint: flag.startsWith("-") ? `e.g. ${flag} dev` : `e.g. export ${flag}=dev, or unset it and pass --stack dev`,
    });
  }
  return name;
}
