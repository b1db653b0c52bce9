/**
 * Start delays (startDelays.ts) and pull times (pullTimes.ts) say the same kind of thing: "new
 * pods of this namespace, pool and version take N seconds". They share the target, how it covers
 * a pod, which of several covering entries wins, how its fields are validated and how it is
 * written as a CLI flag: all of that lives here once.
 */
import { normalizeVersion } from "../faults.js";

/** Longer than any startup budget a chart gives (the worker's is 600 s), so "never starts" fits. */
export const MAX_SECONDS = 86_400;

/** Which pods an entry covers; a field omitted covers every value. */
export interface PodTarget {
  /** Namespace of the release. */
  namespace?: string;
  /** Worker pool. */
  pool?: string;
  /** The version the pods run, with or without a leading "v" (e.g. "v0.3.4"). */
  version?: string;
}

/** One pod's place, as a target is matched against it. */
export interface PodPlace {
  namespace: string;
  pool: string;
  /** As parseImage reports it (no leading "v"). */
  version: string;
}

/** An entry or a change to one: a target and its seconds (`null` in a change: remove). */
export type TimedTarget = PodTarget & { seconds: number | null };

/** A target, its seconds or its flag that cannot be read; the message names the field and what it should be. */
export class PodTargetError extends Error {
  override name = "PodTargetError";
}

export const sameTarget = (a: PodTarget, b: PodTarget): boolean =>
  (a.namespace ?? "") === (b.namespace ?? "") && (a.pool ?? "") === (b.pool ?? "") && normalizeVersion(a.version ?? "") === normalizeVersion(b.version ?? "");

export const covers = (t: PodTarget, p: PodPlace): boolean =>
  (t.namespace === undefined || t.namespace === p.namespace) &&
  (t.pool === undefined || t.pool === p.pool) &&
  (t.version === undefined || normalizeVersion(t.version) === p.version);

/**
 * The most specific entry covering `p` (a named version over every version, then a named
 * namespace over every namespace, then a named pool over every pool), so "workers take 60 s,
 * a100 workers 120 s" reads as written.
 */
export function mostSpecific<T extends PodTarget>(entries: readonly T[], p: PodPlace): T | undefined {
  const rank = (t: T) => (t.version !== undefined ? 4 : 0) + (t.namespace !== undefined ? 2 : 0) + (t.pool !== undefined ? 1 : 0);
  return entries.filter((e) => covers(e, p)).sort((a, b) => rank(b) - rank(a))[0];
}

export const isWholeSeconds = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_SECONDS;

/**
 * Validates the target and seconds fields of one requested entry; `list` names it in messages
 * ("starts[]"), `fail` makes the error the list reports.
 */
export function parseTimedTarget(r: Record<string, unknown>, list: string, fail: (message: string) => Error): TimedTarget {
  if (r["pool"] !== undefined && (typeof r["pool"] !== "string" || r["pool"] === ""))
    throw fail(`${list}.pool must be a pool name, got ${JSON.stringify(r["pool"])}`);
  if (r["namespace"] !== undefined && (typeof r["namespace"] !== "string" || r["namespace"] === ""))
    throw fail(`${list}.namespace must be a namespace name, got ${JSON.stringify(r["namespace"])}`);
  if (r["version"] !== undefined && (typeof r["version"] !== "string" || r["version"] === ""))
    throw fail(`${list}.version must be the version string the pods run, e.g. "v0.3.2", got ${JSON.stringify(r["version"])}`);
  if (r["seconds"] !== null && !isWholeSeconds(r["seconds"]))
    throw fail(`${list}.seconds must be whole seconds from 0 to ${MAX_SECONDS} (or null to remove), got ${JSON.stringify(r["seconds"])}`);
  return {
    ...(r["namespace"] !== undefined ? { namespace: r["namespace"] as string } : {}),
    ...(r["pool"] !== undefined ? { pool: r["pool"] as string } : {}),
    ...(r["version"] !== undefined ? { version: r["version"] as string } : {}),
    seconds: r["seconds"] as number | null,
  };
}

/** How one list's flag is named in messages. */
export interface TargetFlag {
  /** "--start-delay" */
  flag: string;
  /** "a start delay" */
  what: string;
  /** How to write it, with examples. */
  usage: string;
  fail: (message: string) => Error;
}

const FLAG = /^(?:([a-z0-9][-a-z0-9]*)\/)?([a-z]+)(?::([^@=\s]+))?(?:@([^=\s]+))?=(.+)$/;

/**
 * One flag value `[<namespace>/]<component>[:<pool>][@<version>]=<duration>`, the duration as
 * `90s`, `2m` or `90`, or `off` (seconds null). `parse` validates the fields as the control API
 * does; what it refuses is reported as this flag's.
 */
export function parseTargetFlag<C>(text: string, f: TargetFlag, parse: (raw: Record<string, unknown>) => C): C {
  const m = FLAG.exec(text.trim());
  if (!m) throw f.fail(`${f.flag} ${JSON.stringify(text)} is not ${f.what}: ${f.usage}`);
  const [, namespace, component, pool, version, duration] = m;
  let seconds: number | null;
  if (duration === "off") seconds = null;
  else {
    const d = /^(\d+)(s|m)?$/.exec(duration!);
    if (!d) throw f.fail(`${f.flag} ${JSON.stringify(text)}: the duration must be whole seconds or minutes (90s, 2m, 90) or off`);
    seconds = Number(d[1]) * (d[2] === "m" ? 60 : 1);
  }
  try {
    return parse({ namespace, component, pool, version, seconds });
  } catch (err) {
    throw f.fail(`${f.flag} ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** `sie/worker:a100@v0.3.4 90s`, the way the flag names it, for status lines. */
export function describeTimedTarget(component: string, t: PodTarget & { seconds: number }): string {
  return `${t.namespace ? `${t.namespace}/` : ""}${component}${t.pool ? `:${t.pool}` : ""}${t.version ? `@${t.version}` : ""} ${t.seconds}s`;
}
