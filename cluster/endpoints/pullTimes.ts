/**
 * Pull times: "pulling the worker image (of pool P, version V) onto a node that does not have it
 * takes N seconds", as a GPU worker image of several GB does. A new worker pod, or a pod of the
 * chart's image pre-pull DaemonSet (component PREPULL_COMPONENT, the worker image in its
 * initContainer), covered by a pull time is born with PULL_SECONDS_ANNOTATION and
 * PULL_IMAGE_ANNOTATION (set by the fault webhook, webhook.ts, or by hand). kwok does not start a
 * pod that carries them (kwokStages.ts); the endpoint server plays the node's image cache
 * (imagePulls.ts): it removes them once the pod's node has the image, pulling it first when not.
 *
 * Pull times are stored beside the fault scopes (FAULT_SCOPES_OBJECT, key PULLS_KEY), so they
 * survive a server restart, like start delays (startDelays.ts), whose target they share
 * (podTargets.ts).
 */
import type { V1Pod } from "@kubernetes/client-node";
import { CHART_LABELS } from "../../core/workloads.js";
import { parseImage } from "../faults.js";
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
import { applyChanges, readStoredList } from "./storedChanges.js";
import { poolOf } from "./view.js";

export const PULL_SECONDS_ANNOTATION = "pull.sie-fleet.dev/seconds";
export const PULL_IMAGE_ANNOTATION = "pull.sie-fleet.dev/image";
/** Key of the pull times in the fault-scope ConfigMap. */
export const PULLS_KEY = "pullTimes.json";
/** The chart's image pre-pull DaemonSet pods (templates/worker-image-prepull.yaml). */
export const PREPULL_COMPONENT = "image-prepull";
/** The pre-pull pod's initContainer that names the worker image. */
const PREPULL_CONTAINER = "pull-worker-image";

export interface PullTime extends PodTarget {
  /** Whole seconds a node without the image takes to pull it. */
  seconds: number;
}

/** One requested change: `seconds: null` removes the pull time with the same target. */
export type PullTimeChange = PodTarget & { seconds: number | null };

export class PullTimeError extends PodTargetError {
  override name = "PullTimeError";
}

const fail = (message: string) => new PullTimeError(message);

/** Validates one requested pull time; throws PullTimeError naming the bad field. */
export function parsePullTime(raw: unknown): PullTimeChange {
  return parseTimedTarget((raw ?? {}) as Record<string, unknown>, "pulls[]", fail);
}

export function applyPullTimeChanges(pulls: readonly PullTime[], changes: readonly PullTimeChange[], clear = false): PullTime[] {
  return applyChanges(pulls, changes, sameTarget, (c) => (c.seconds !== null ? { ...c, seconds: c.seconds } : undefined), clear);
}

/** The pull time of an image at `p`: the most specific one covering it (podTargets.ts mostSpecific). */
export function pullSecondsFor(pulls: readonly PullTime[], p: PodPlace): number | undefined {
  return mostSpecific(pulls, p)?.seconds;
}

/** The pull times stored in the ConfigMap's data; anything unreadable counts as none. */
export function readStoredPullTimes(data: Record<string, string> | undefined): PullTime[] {
  return readStoredList(data, PULLS_KEY, (raw) => {
    const p = parsePullTime(raw);
    return p.seconds === null ? undefined : { ...p, seconds: p.seconds };
  });
}

/**
 * The worker image a pod needs on its node, with the place pull times are matched against:
 * a worker's container image, a pre-pull pod's initContainer image. Undefined for other pods.
 */
export function pulledImageOf(pod: V1Pod, namespace: string): (PodPlace & { image: string }) | undefined {
  const component = pod.metadata?.labels?.[CHART_LABELS.component] ?? "";
  let image: string | undefined;
  if (component === "worker") image = pod.spec?.containers?.[0]?.image;
  else if (component === PREPULL_COMPONENT) {
    const init = pod.spec?.initContainers ?? [];
    image = (init.find((c) => c.name === PREPULL_CONTAINER) ?? init[0])?.image;
  }
  if (!image) return undefined;
  return { namespace, pool: poolOf(pod.metadata?.labels, "worker"), version: parseImage(image).version, image };
}

/**
 * One `--pull-time` value: `[<namespace>/]worker[:<pool>][@<version>]=<duration>`, the duration as
 * `90s`, `2m` or `90`, or `off` to remove the pull time of that target.
 */
export function parsePullTimeFlag(text: string): PullTimeChange {
  return parseTargetFlag(
    text,
    {
      flag: "--pull-time",
      what: "a pull time",
      usage: "write [<namespace>/]worker[:<pool>][@<version>]=<duration>, e.g. worker=2m, worker:a100=5m, sie/worker@v0.3.4=off",
      fail,
    },
    ({ component, ...rest }) => {
      if (component !== "worker") throw fail(`pull times are for the worker image: write worker[:<pool>][@<version>], got ${JSON.stringify(component)}`);
      return parsePullTime(rest);
    },
  );
}

/** `worker:a100 90s` style, for status lines. */
export function describePullTime(p: PullTime): string {
  return describeTimedTarget("worker", p);
}

/** The pod carries the pull annotation: kwok leaves it unstarted until imagePulls.ts removes it. */
export function waitsForPull(pod: V1Pod): boolean {
  return Boolean(pod.metadata?.annotations?.[PULL_SECONDS_ANNOTATION]);
}
