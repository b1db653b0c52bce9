/**
 * How the embedded cluster installs its add-ons' objects (Prometheus, KEDA, Karpenter): server-side apply
 * under one field manager, so a restarted cluster gets the current spec (another release's image,
 * a new caBundle) and a person's `kubectl apply` of other fields is left alone.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "./procs.js";

const CLUSTER_FIELD_MANAGER = "sie-fleet-cluster";

export async function applyObjects(kc: k8s.KubeConfig, objects: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) await api.patch(obj, undefined, undefined, CLUSTER_FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
}

/** The `.yaml` files of a directory, in name order (the order a release numbers its manifests for). */
export function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** CRDs as their release ships them: KEDA's and Karpenter's (scripts/ensure-kube-tools copies them beside the binaries) and kwok's, each waited for until Established. */
export async function applyCrds(kc: k8s.KubeConfig, files: readonly string[], timeoutMs: number): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const docs = files.flatMap((f) =>
    (k8s.loadAllYaml(fs.readFileSync(f, "utf8")) as k8s.V1CustomResourceDefinition[]).filter((d) => d?.kind === "CustomResourceDefinition"),
  );
  for (const crd of docs) {
    if (await createUnlessExists(() => ext.createCustomResourceDefinition({ body: crd }))) continue;
    // A restart with another KEDA release's CRDs updates what the last start created.
    const name = crd.metadata?.name ?? "";
    const live = await ext.readCustomResourceDefinition({ name });
    await ext.replaceCustomResourceDefinition({ name, body: { ...crd, metadata: { ...crd.metadata, resourceVersion: live.metadata?.resourceVersion } } });
  }
  for (const crd of docs) {
    const name = crd.metadata?.name ?? "";
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const got = await ext.readCustomResourceDefinition({ name });
        return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }
}

/** True when `create` made the object, false when it existed already (HTTP 409). */
export async function createUnlessExists(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 409) return false;
    throw err;
  }
}
