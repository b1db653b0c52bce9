/**
 * Start delays: "workers of pool X (or the gateway, or the config service) take N seconds from
 * container start to passing their startup probe", as a GPU worker downloading and loading models
 * does. Pods here run no code, so the delay is played by the kwok stages (kwokStages.ts) from the
 * pod annotation START_SECONDS_ANNOTATION: the container runs unstarted and unready for N seconds,
 * then starts and turns Ready, unless N exceeds the pod's own startup-probe budget, in which case
 * the kubelet's rule applies: the container is killed at the budget and restarted, and never
 * turns Ready.
 *
 * The annotation can be set by hand; delays configured here reach new pods through the fault
 * webhook (webhook.ts), like pod-fault scopes. They are stored beside the fault scopes
 * (FAULT_SCOPES_OBJECT, key STARTS_KEY), so they survive a server restart.
 */
import { normalizeVersion } from "../faults.js";
import { applyChanges, readStoredList } from "./storedChanges.js";
import { COMPONENTS, type Component } from "./view.js";

export const START_SECONDS_ANNOTATION = "startup.sie-fleet.dev/seconds";
/** Key of the start delays in the fault-scope ConfigMap. */
export const STARTS_KEY = "startDelays.json";
/** Longer than any startup budget a chart gives (the worker's is 600 s), so "never starts" fits. */
export const MAX_START_SECONDS = 86_400;

export interface StartDelay {
  /** Namespace of the release; omitted = every namespace. */
  namespace?: string;
  component: Component;
  /** Worker pool (component "worker" only); omitted = every pool. */
  pool?: string;
  /** Only pods running this version (e.g. "v0.3.4", a version that never starts); omitted = every version. */
  version?: string;
  /** Whole seconds from container start to a passing startup probe. */
  seconds: number;
}

/** One requested change: `seconds: null` removes the delay with the same target. */
export type StartDelayChange = Omit<StartDelay, "seconds"> & { seconds: number | null };

export class StartDelayError extends Error {
  override name = "StartDelayError";
}

const sameTarget = (a: Omit<StartDelay, "seconds">, b: Omit<StartDelay, "seconds">): boolean =>
  (a.namespace ?? "") === (b.namespace ?? "") &&
  a.component === b.component &&
  (a.pool ?? "") === (b.pool ?? "") &&
  normalizeVersion(a.version ?? "") === normalizeVersion(b.version ?? "");

export const isStartSeconds = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_START_SECONDS;

/** Validates one requested delay; throws StartDelayError naming the bad field. */
export function parseStartDelay(raw: unknown): StartDelayChange {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (!COMPONENTS.includes(r["component"] as Component))
    throw new StartDelayError(`starts[].component must be one of ${COMPONENTS.join(", ")}, got ${JSON.stringify(r["component"])}`);
  if (r["pool"] !== undefined && (typeof r["pool"] !== "string" || r["pool"] === "" || r["component"] !== "worker"))
    throw new StartDelayError("starts[].pool is a pool name and only applies to component worker");
  if (r["namespace"] !== undefined && (typeof r["namespace"] !== "string" || r["namespace"] === ""))
    throw new StartDelayError(`starts[].namespace must be a namespace name, got ${JSON.stringify(r["namespace"])}`);
  if (r["version"] !== undefined && (typeof r["version"] !== "string" || r["version"] === ""))
    throw new StartDelayError(`starts[].version must be the version string the pods run, e.g. "v0.3.2", got ${JSON.stringify(r["version"])}`);
  if (r["seconds"] !== null && !isStartSeconds(r["seconds"]))
    throw new StartDelayError(`starts[].seconds must be whole seconds from 0 to ${MAX_START_SECONDS} (or null to remove), got ${JSON.stringify(r["seconds"])}`);
  return {
    ...(r["namespace"] !== undefined ? { namespace: r["namespace"] as string } : {}),
    component: r["component"] as Component,
    ...(r["pool"] !== undefined ? { pool: r["pool"] as string } : {}),
    ...(r["version"] !== undefined ? { version: r["version"] as string } : {}),
    seconds: r["seconds"] as number | null,
  };
}

export function applyStartDelayChanges(delays: readonly StartDelay[], changes: readonly StartDelayChange[], clear = false): StartDelay[] {
  return applyChanges(delays, changes, sameTarget, (c) => (c.seconds !== null ? { ...c, seconds: c.seconds } : undefined), clear);
}

/**
 * The delay for a new pod: the most specific delay that covers it (a named version over every
 * version, then a named namespace over every namespace, then a named pool over every pool), so
 * "workers take 60 s, a100 workers 120 s" reads as written.
 */
export function startSecondsFor(
  delays: readonly StartDelay[],
  t: { namespace: string; component: Component; pool: string /** As parseImage reports it (no leading "v"). */; version: string },
): number | undefined {
  const covering = delays.filter(
    (d) =>
      (d.namespace === undefined || d.namespace === t.namespace) &&
      d.component === t.component &&
      (d.pool === undefined || d.pool === t.pool) &&
      (d.version === undefined || normalizeVersion(d.version) === t.version),
  );
  const rank = (d: StartDelay) => (d.version !== undefined ? 4 : 0) + (d.namespace !== undefined ? 2 : 0) + (d.pool !== undefined ? 1 : 0);
  return covering.sort((a, b) => rank(b) - rank(a))[0]?.seconds;
}

/** The delays stored in the ConfigMap's data; anything unreadable counts as none. */
export function readStoredStartDelays(data: Record<string, string> | undefined): StartDelay[] {
  return readStoredList(data, STARTS_KEY, (raw) => {
    const d = parseStartDelay(raw);
    return d.seconds === null ? undefined : { ...d, seconds: d.seconds };
  });
}

const FLAG = /^(?:([a-z0-9][-a-z0-9]*)\/)?([a-z]+)(?::([^@=\s]+))?(?:@([^=\s]+))?=(.+)$/;

/**
 * One `--start-delay` value: `[<namespace>/]<component>[:<pool>][@<version>]=<duration>`, the
 * duration as `90s`, `2m` or `90`, or `off` to remove the delay of that target.
 */
export function parseStartDelayFlag(text: string): StartDelayChange {
  const m = FLAG.exec(text.trim());
  const usage = "write [<namespace>/]<component>[:<pool>][@<version>]=<duration>, e.g. worker=90s, worker:a100=2m, gateway@v0.3.4=off";
  if (!m) throw new StartDelayError(`--start-delay ${JSON.stringify(text)} is not a start delay: ${usage}`);
  const [, namespace, component, pool, version, duration] = m;
  let seconds: number | null;
  if (duration === "off") seconds = null;
  else {
    const d = /^(\d+)(s|m)?$/.exec(duration!);
    if (!d) throw new StartDelayError(`--start-delay ${JSON.stringify(text)}: the duration must be whole seconds or minutes (90s, 2m, 90) or off`);
    seconds = Number(d[1]) * (d[2] === "m" ? 60 : 1);
  }
  try {
    return parseStartDelay({ namespace, component, pool, version, seconds });
  } catch (err) {
    throw new StartDelayError(`--start-delay ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** `worker:a100 90s` style, for status lines. */
export function describeStartDelay(d: StartDelay): string {
  const target = `${d.namespace ? `${d.namespace}/` : ""}${d.component}${d.pool ? `:${d.pool}` : ""}${d.version ? `@${d.version}` : ""}`;
  return `${target} ${d.seconds}s`;
}
