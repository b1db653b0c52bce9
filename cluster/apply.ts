/**
 * How the embedded cluster installs its add-ons' objects (Prometheus, KEDA): server-side apply
 * under one field manager, so a restarted cluster gets the current spec (another release's image,
 * a new caBundle) and a person's `kubectl apply` of other fields is left alone.
 */
import * as k8s from "@kubernetes/client-node";

const CLUSTER_FIELD_MANAGER = "sie-fleet-cluster";

export async function applyObjects(kc: k8s.KubeConfig, objects: readonly k8s.KubernetesObject[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) await api.patch(obj, undefined, undefined, CLUSTER_FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
}
