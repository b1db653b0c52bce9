// Image pre-pull before a pool's wave. A GPU worker's start includes pulling a multi-GB CUDA
// image; the chart's pre-pull DaemonSets (one per pool) pull the new worker image onto the pool's
// nodes as soon as the release is applied, because nothing holds them while the workers wait.
// Waiting for a wave's pre-pull before releasing its workers means the workers start from a
// cached image, and the pulls of later pools overlap the earlier waves. It also catches an image
// that cannot be pulled before a single worker has been replaced: the wave fails with nothing
// released, and the revert has no capacity to restore.
import { isNotFound } from "../../kube/api.js";
import { imagePrepullDaemonSet } from "../../../core/workloads.js";
import type { GateResult, WaveSpec } from "../../../core/types.js";
import type { RolloutOutcome } from "../../kube/index.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { rolloutGates } from "../../verify/index.js";
import type { StackContext } from "../context.js";
import { rolloutTiming } from "./timing.js";

/**
 * Pool → its pre-pull DaemonSet, for the pools whose DaemonSet exists (the chart renders them
 * unless `workers.common.imagePrepull.enabled` is false). Read in the preflight: a refused read
 * (RBAC) throws there, before anything changed.
 */
export async function findPrepull(sc: StackContext): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const pool of Object.keys(sc.names.statefulSets)) {
    const name = imagePrepullDaemonSet(sc.names, pool);
    try {
      await sc.kube.api.getDaemonSet(sc.names.namespace, name);
      found[pool] = name;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return found;
}

/** How the preflight reports what it found, one line. */
export function describePrepull(pools: readonly string[], prepull: Readonly<Record<string, string>>): string {
  const without = pools.filter((p) => !prepull[p]);
  if (without.length === 0) return pools.length > 0 ? `image pre-pull: every pool's wave waits for its pre-pull DaemonSet (${pools.join(", ")})` : "";
  return `image pre-pull: ${without.join(", ")} ${without.length === 1 ? "has" : "have"} no pre-pull DaemonSet (workers.common.imagePrepull.enabled is false?); ${without.length === 1 ? "its" : "their"} workers pull the new image as they start`;
}

/** Waiting reasons that say the image itself cannot be pulled: the wave's workers would meet them too. */
const PULL_ERRORS: readonly string[] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"];

/**
 * A pre-pull pod not even scheduled after this long (a node with no room for it, a taint it does
 * not tolerate) is given up on: the pre-pull only saves time, so the wave goes on without it.
 * A pod that is pulling is scheduled, so this never cuts a slow pull short.
 */
const UNSCHEDULED_PREPULL_MS = 30_000;

/**
 * Waits for the pre-pull DaemonSets of the wave's pools to roll out, each judged as a gate
 * (`rollout:DaemonSet/<name>`): rolled out passes; a pod that cannot pull the image fails at once
 * (the wave's workers would fail the same way); anything else (a pod that cannot be scheduled, a
 * pull slower than the stack's rollout timeout) is a warning and the wave goes on, its workers
 * pulling the image themselves. Nothing to wait for (no such DaemonSet, not a pool wave): no gates.
 */
export async function prepullGates(sc: StackContext, wave: WaveSpec, emit: ProgressEmitter, signal?: AbortSignal): Promise<GateResult[]> {
  const sets = (wave.pools ?? []).map((p) => sc.prepull?.[p]).filter((n): n is string => n !== undefined);
  if (sets.length === 0) return [];
  const ns = sc.names.namespace;
  emit.log("info", "wave", `wave ${wave.name}: waiting for the image pre-pull (${sets.join(", ")})`, { wave: wave.name });
  const rolled = await rolloutGates(
    sc.kube.api,
    ns,
    sets.map((name) => ({ kind: "DaemonSet" as const, name })),
    {
      ...rolloutTiming(sc.config, "pool"),
      notReadyAfterMs: UNSCHEDULED_PREPULL_MS,
      ...(signal ? { signal } : {}),
      onProgress: (p) =>
        emit.rollout("wave", { kind: p.kind, namespace: ns, name: p.name }, p.done, `${p.name}: ${p.reason} (${p.podsReady}/${p.podsTotal} ready)`, {
          wave: wave.name,
        }),
    },
  );
  return rolled.map(({ outcome, gate }) => judgePrepull(outcome, gate));
}

/** The rollout gate of a pre-pull DaemonSet, as the wave should take it (see prepullGates). */
export function judgePrepull(outcome: RolloutOutcome, gate: GateResult): GateResult {
  if (gate.status === "pass") return gate;
  const pods = "evidence" in outcome ? outcome.evidence : [];
  if (outcome.status === "failed" && pods.some((p) => PULL_ERRORS.includes(p.reason))) {
    return { ...gate, message: `the new worker image cannot be pulled: ${gate.message}` };
  }
  return { ...gate, status: "warn", message: `image pre-pull not finished, the wave goes on and its workers pull the image as they start: ${gate.message}` };
}
