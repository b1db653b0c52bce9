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
import { applyChanges, readStoredList } from "./storedChanges.js";
import {
  describeTimedTarget,
  mostSpecific,
  parseTargetFlag,
  parseTimedTarget,
  PodTargetError,
  sameTarget,
  type PodPlace,
  type PodTarget,
} from "./podTargets.js";
import { COMPONENTS, type Component } from "./view.js";

export const START_SECONDS_ANNOTATION = "startup.sie-fleet.dev/seconds";
/** Key of the start delays in the fault-scope ConfigMap. */
export const STARTS_KEY = "startDelays.json";

export interface StartDelay extends PodTarget {
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

export class StartDelayError extends PodTargetError {
  override name = "StartDelayError";
}

const fail = (message: string) => new StartDelayError(message);

/** Validates one requested delay; throws StartDelayError naming the bad field. */
export function parseStartDelay(raw: unknown): StartDelayChange {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (!COMPONENTS.includes(r["component"] as Component))
    throw fail(`starts[].component must be one of ${COMPONENTS.join(", ")}, got ${JSON.stringify(r["component"])}`);
  if (r["pool"] !== undefined && r["component"] !== "worker") throw fail("starts[].pool is a pool name and only applies to component worker");
  return { component: r["component"] as Component, ...parseTimedTarget(r, "starts[]", fail) };
}

export function applyStartDelayChanges(delays: readonly StartDelay[], changes: readonly StartDelayChange[], clear = false): StartDelay[] {
  return applyChanges(
    delays,
    changes,
    (a, b) => a.component === b.component && sameTarget(a, b),
    (c) => (c.seconds !== null ? { ...c, seconds: c.seconds } : undefined),
    clear,
  );
}

/** The delay for a new pod: the most specific delay of its component that covers it (podTargets.ts mostSpecific). */
export function startSecondsFor(delays: readonly StartDelay[], t: PodPlace & { component: Component }): number | undefined {
  return mostSpecific(
    delays.filter((d) => d.component === t.component),
    t,
  )?.seconds;
}

/** The delays stored in the ConfigMap's data; anything unreadable counts as none. */
export function readStoredStartDelays(data: Record<string, string> | undefined): StartDelay[] {
  return readStoredList(data, STARTS_KEY, (raw) => {
    const d = parseStartDelay(raw);
    return d.seconds === null ? undefined : { ...d, seconds: d.seconds };
  });
}

/**
 * One `--start-delay` value: `[<namespace>/]<component>[:<pool>][@<version>]=<duration>`, the
 * duration as `90s`, `2m` or `90`, or `off` to remove the delay of that target.
 */
export function parseStartDelayFlag(text: string): StartDelayChange {
  return parseTargetFlag(
    text,
    {
      flag: "--start-delay",
      what: "a start delay",
      usage: "write [<namespace>/]<component>[:<pool>][@<version>]=<duration>, e.g. worker=90s, worker:a100=2m, gateway@v0.3.4=off",
      fail,
    },
    parseStartDelay,
  );
}

/** `worker:a100 90s` style, for status lines. */
export function describeStartDelay(d: StartDelay): string {
  return describeTimedTarget(d.component, d);
}
