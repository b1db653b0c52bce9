// Moves one workload of a fixture's release to another image tag through the API server, the way
// the release update would change its template, without the engine (the verification suite's
// tests judge the result). Waiting also clears pods a bad tag left stuck, as a revert does.
import * as k8s from "@kubernetes/client-node";
import { POLL_INTERVAL_MS } from "../../cluster/endpoints/server.js";
import { waitFor, type StackFixture } from "./stackFixture.js";

export type WorkloadRef = { pool: string } | { component: "gateway" | "config" };

const JSON_PATCH = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);
const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

function workloadOf(fx: StackFixture, ref: WorkloadRef) {
  return "pool" in ref
    ? {
        kind: "StatefulSet" as const,
        name: `${fx.fullname}-worker-${ref.pool}`,
        selector: `app.kubernetes.io/component=worker,sie.superlinked.com/pool=${ref.pool}`,
      }
    : { kind: "Deployment" as const, name: `${fx.fullname}-${ref.component}`, selector: `app.kubernetes.io/component=${ref.component}` };
}

/** `repo:v0.3.1-cuda12-default` → `repo:<tag>-cuda12-default` for workers, `repo:<tag>` otherwise. */
function retag(image: string, tag: string, worker: boolean): string {
  const [repo, current = ""] = image.split(/:(?=[^:]*$)/);
  return `${repo}:${worker ? [tag, ...current.split("-").slice(-2)].join("-") : tag}`;
}

/** Sets the workload's image tag; with `wait`, until every pod runs it and is Ready. */
export async function setWorkloadTag(fx: StackFixture, ref: WorkloadRef, tag: string, opts: { wait?: boolean } = {}): Promise<string> {
  const w = workloadOf(fx, ref);
  const ns = fx.namespace;
  const read = () =>
    w.kind === "StatefulSet"
      ? fx.apps.readNamespacedStatefulSet({ name: w.name, namespace: ns })
      : fx.apps.readNamespacedDeployment({ name: w.name, namespace: ns });
  const image = retag((await read()).spec!.template.spec!.containers[0]!.image!, tag, w.kind === "StatefulSet");
  const body = [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: image }];
  if (w.kind === "StatefulSet") await fx.apps.patchNamespacedStatefulSet({ name: w.name, namespace: ns, body }, JSON_PATCH);
  else await fx.apps.patchNamespacedDeployment({ name: w.name, namespace: ns, body }, JSON_PATCH);
  if (opts.wait === false) return image;
  await waitFor(
    `${w.kind}/${w.name} on ${image}`,
    async () => {
      const obj = await read();
      const pods = (await fx.core.listNamespacedPod({ namespace: ns, labelSelector: w.selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
      // A StatefulSet does not replace a pod that never got Ready on a bad revision by itself.
      for (const p of pods)
        if (!isReady(p) && p.spec?.containers[0]?.image !== image)
          await fx.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: ns }).catch(() => undefined);
      const want = obj.spec?.replicas ?? 1;
      const done =
        (obj.status?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0) &&
        pods.length === want &&
        pods.every((p) => isReady(p) && p.spec?.containers[0]?.image === image);
      return done ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  // The endpoint server answers from a polled picture of the pods: let it see the rollout too, or
  // requests sent at once still reach the pod the API server has already replaced.
  await new Promise((r) => setTimeout(r, 3 * POLL_INTERVAL_MS));
  return image;
}
