// The digests a verified release runs, recorded with a successful run's outcome so a promotion
// from this stack can check that the next stack rolls the very same images.
import { digestPlace, shortDigest, type ImageDigest } from "../../../core/imageDigests.js";
import type { ProgressEmitter } from "../../events/emitter.js";
import { workloadDigests } from "../../kube/index.js";
import { releaseWorkloads } from "../../../core/workloads.js";
import type { StackContext } from "../context.js";

/**
 * Undefined when the pods cannot be read: the upgrade itself succeeded and stays a success, it
 * only cannot serve as promotion evidence (the promotion check says so).
 */
export async function recordDigests(sc: StackContext, emit: ProgressEmitter, probed: readonly ImageDigest[] = []): Promise<ImageDigest[] | undefined> {
  try {
    // Pools probed from zero are back at zero now: their workers' digests were read in their wave.
    const digests = [...(await workloadDigests(sc.kube.api, sc.names.namespace, releaseWorkloads(sc.names))), ...probed];
    emit.log("info", "verify", `verified image digests: ${digests.map((d) => `${digestPlace(d)} ${shortDigest(d.digest)}`).join(", ") || "none (no pods)"}`);
    return digests;
  } catch (err) {
    emit.log("warn", "verify", `the verified image digests could not be read (${(err as Error).message}); this run cannot serve as promotion evidence`);
    return undefined;
  }
}
