/**
 * The image digests a release's pods run, read from their container statuses (`imageID`: what
 * the node resolved the tag to). Only the SIE container (each pod's first, as in the chart) is
 * read; sidecars are not the release. Terminating pods and pods whose image is not pulled yet
 * are left out: neither tells what the workload runs.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { digestOfImageId, type ImageDigest } from "../../core/imageDigests.js";
import type { Workload } from "../../core/workloads.js";
import { selectorString, type KubeApi } from "./api.js";
import { newRevisionPods, statefulSetPods } from "./pods.js";

export interface WorkloadDigestOptions {
  /** Only pods of the revision the workload rolls to (what a wave just released). */
  newRevisionOnly?: boolean;
}

export async function workloadDigests(
  api: KubeApi,
  namespace: string,
  workloads: readonly Workload[],
  opts: WorkloadDigestOptions = {},
): Promise<ImageDigest[]> {
  const out: ImageDigest[] = [];
  for (const w of workloads) out.push(...digestsOfPods(w, await podsOf(api, namespace, w, opts)));
  return out;
}

async function podsOf(api: KubeApi, namespace: string, w: Workload, opts: WorkloadDigestOptions): Promise<V1Pod[]> {
  if (w.kind === "StatefulSet") {
    const sts = await api.getStatefulSet(namespace, w.name);
    return opts.newRevisionOnly ? (await newRevisionPods(api, namespace, sts, "StatefulSet")).pods : statefulSetPods(api, namespace, sts);
  }
  const dep = await api.getDeployment(namespace, w.name);
  return opts.newRevisionOnly ? (await newRevisionPods(api, namespace, dep, "Deployment")).pods : api.listPods(namespace, selectorString(dep.spec?.selector));
}

/** The pods' (image, digest) pairs, counted; in image then digest order so records compare stably. */
export function digestsOfPods(w: Workload, pods: readonly V1Pod[]): ImageDigest[] {
  const counts = new Map<string, { image: string; digest: string; pods: number }>();
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const main = p.spec?.containers?.[0];
    const digest = digestOfImageId(p.status?.containerStatuses?.find((c) => c.name === main?.name)?.imageID);
    if (!main?.image || !digest) continue;
    const key = `${main.image}\n${digest}`;
    const c = counts.get(key);
    if (c) c.pods++;
    else counts.set(key, { image: main.image, digest, pods: 1 });
  }
  return [...counts.values()]
    .sort((a, b) => a.image.localeCompare(b.image) || a.digest.localeCompare(b.digest))
    .map((c) => ({ component: w.component, ...(w.pool ? { pool: w.pool } : {}), workload: `${w.kind}/${w.name}`, ...c }));
}
