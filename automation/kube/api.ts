/**
 * The one module that uses @kubernetes/client-node 1.4.0: loading a kubeconfig, and the calls the
 * engine makes, behind one small class so the rest of kube/ reads as domain logic. Errors come
 * back as KubeApiError with the HTTP code and the apiserver's message, never with the kubeconfig.
 *
 * Patch recipe (client-node 1.x): the generated patch methods pick the first media type they
 * support, `application/json-patch+json`, which expects a JSON-Patch array. To send a merge patch,
 * pass per-call options that add a middleware overriding Content-Type:
 *
 *   api.patchNamespacedStatefulSet({ name, namespace, body },
 *     setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
 *
 * The middleware runs after the request factory set the header, so it wins. `MERGE_PATCH` below
 * is that options object; every patch in this project goes through `mergePatch*` here.
 */
import * as fs from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { KubeApiError, KubeForbiddenError, UsageError } from "../../core/errors.js";
import { parseForbidden } from "../../core/forbidden.js";

export const MERGE_PATCH = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

export function isNotFound(err: unknown): boolean {
  return (err instanceof KubeApiError && err.status === 404) || (err as { code?: unknown })?.code === 404;
}

/** The object changed since it was read (a resourceVersion precondition failed), or it already exists. */
export function isConflict(err: unknown): boolean {
  return (err instanceof KubeApiError && err.status === 409) || (err as { code?: unknown })?.code === 409;
}

export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
}

export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: k8s.V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface KubeConfigSource {
  /** Path to a kubeconfig file. */
  kubeconfigPath?: string;
  /** Kubeconfig content (YAML or JSON), e.g. a stack output. Treated as a secret. */
  kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
}

/** Loads and checks a kubeconfig; errors name the file or context, never the content. */
export function loadKubeConfig(opts: KubeConfigSource): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig !== undefined) {
    try {
      kc.loadFromString(opts.kubeconfig);
    } catch (err) {
      // The parser's message may quote the content; keep only its kind.
      throw new UsageError(`the kubeconfig content could not be parsed (${(err as Error).name}); check the stack output or file it came from`, {
        code: "bad-kubeconfig",
      });
    }
  } else if (opts.kubeconfigPath !== undefined) {
    if (!fs.existsSync(opts.kubeconfigPath)) {
      throw new UsageError(`kubeconfig file ${opts.kubeconfigPath} does not exist; pass --kubeconfig or set KUBECONFIG`, { code: "bad-kubeconfig" });
    }
    try {
      kc.loadFromFile(opts.kubeconfigPath);
    } catch (err) {
      throw new UsageError(`kubeconfig file ${opts.kubeconfigPath} could not be parsed (${(err as Error).name})`, { code: "bad-kubeconfig" });
    }
  } else {
    throw new UsageError("no kubeconfig: pass a file path or content", { code: "bad-kubeconfig" });
  }
  if (opts.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === opts.context)) {
      throw new UsageError(
        `kubeconfig has no context "${opts.context}"; available: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "(none)"
        }`,
        { code: "bad-kubeconfig" },
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError("kubeconfig has no current cluster; set current-context", { code: "bad-kubeconfig" });
  return kc;
}

export class KubeApi {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly coordination: k8s.CoordinationV1Api;

  constructor(readonly config: k8s.KubeConfig) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
    this.apps = config.makeApiClient(k8s.AppsV1Api);
    this.custom = config.makeApiClient(k8s.CustomObjectsApi);
    this.coordination = config.makeApiClient(k8s.CoordinationV1Api);
  }

  /** The API server URL: safe to show, unlike the kubeconfig. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? "?";
  }

  readNamespace(name: string): Promise<k8s.V1Namespace> {
    return call(`read namespace ${name}`, () => this.core.readNamespace({ name }));
  }

  getStatefulSet(namespace: string, name: string): Promise<k8s.V1StatefulSet> {
    return call(`read statefulset ${namespace}/${name}`, () => this.apps.readNamespacedStatefulSet({ name, namespace }));
  }

  getDeployment(namespace: string, name: string): Promise<k8s.V1Deployment> {
    return call(`read deployment ${namespace}/${name}`, () => this.apps.readNamespacedDeployment({ name, namespace }));
  }

  getDaemonSet(namespace: string, name: string): Promise<k8s.V1DaemonSet> {
    return call(`read daemonset ${namespace}/${name}`, () => this.apps.readNamespacedDaemonSet({ name, namespace }));
  }

  listStatefulSets(namespace: string, labelSelector?: string): Promise<k8s.V1StatefulSet[]> {
    return call(
      `list statefulsets in ${namespace}`,
      async () => (await this.apps.listNamespacedStatefulSet({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items,
    );
  }

  listDeployments(namespace: string, labelSelector?: string): Promise<k8s.V1Deployment[]> {
    return call(
      `list deployments in ${namespace}`,
      async () => (await this.apps.listNamespacedDeployment({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items,
    );
  }

  listReplicaSets(namespace: string, labelSelector?: string): Promise<k8s.V1ReplicaSet[]> {
    return call(
      `list replicasets in ${namespace}`,
      async () => (await this.apps.listNamespacedReplicaSet({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items,
    );
  }

  listPods(namespace: string, labelSelector?: string): Promise<k8s.V1Pod[]> {
    return call(`list pods in ${namespace}`, async () => (await this.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items);
  }

  listNodes(labelSelector?: string): Promise<k8s.V1Node[]> {
    return call(
      `list nodes${labelSelector ? ` labelled ${labelSelector}` : ""}`,
      async () => (await this.core.listNode({ ...(labelSelector ? { labelSelector } : {}) })).items,
    );
  }

  /** Pods of every namespace bound to `node` that still hold their requests (not Succeeded or Failed). */
  listPodsOnNode(node: string): Promise<k8s.V1Pod[]> {
    return call(
      `list pods on node ${node}`,
      async () => (await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node},status.phase!=Succeeded,status.phase!=Failed` })).items,
    );
  }

  /** Metadata only: callers read labels (e.g. Helm's release records), never the secret data. */
  listSecretMetadata(namespace: string, labelSelector: string): Promise<k8s.V1ObjectMeta[]> {
    return call(`list secrets in ${namespace}`, async () =>
      (await this.core.listNamespacedSecret({ namespace, labelSelector })).items.map((s) => s.metadata ?? {}),
    );
  }

  /** With `uid`, deletes only that pod: not one the controller has since recreated under the same name (409 then). */
  deletePod(namespace: string, name: string, uid?: string): Promise<void> {
    return call(`delete pod ${namespace}/${name}`, async () => {
      await this.core.deleteNamespacedPod({ name, namespace, ...(uid ? { body: { preconditions: { uid } } } : {}) });
    });
  }

  mergePatchStatefulSet(namespace: string, name: string, body: object): Promise<k8s.V1StatefulSet> {
    return call(`patch statefulset ${namespace}/${name}`, () => this.apps.patchNamespacedStatefulSet({ name, namespace, body }, MERGE_PATCH));
  }

  mergePatchDeployment(namespace: string, name: string, body: object): Promise<k8s.V1Deployment> {
    return call(`patch deployment ${namespace}/${name}`, () => this.apps.patchNamespacedDeployment({ name, namespace, body }, MERGE_PATCH));
  }

  // Leases (the stack's lock) and ConfigMaps (the shared run journal). Writes that must not
  // overwrite someone else's carry metadata.resourceVersion: the API server answers 409 when the
  // object changed since it was read.

  getLease(namespace: string, name: string): Promise<k8s.V1Lease> {
    return call(`read lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ name, namespace }));
  }

  createLease(namespace: string, body: k8s.V1Lease): Promise<k8s.V1Lease> {
    return call(`create lease ${namespace}/${body.metadata?.name ?? "?"}`, () => this.coordination.createNamespacedLease({ namespace, body }));
  }

  replaceLease(namespace: string, body: k8s.V1Lease): Promise<k8s.V1Lease> {
    const name = body.metadata?.name ?? "";
    return call(`update lease ${namespace}/${name}`, () => this.coordination.replaceNamespacedLease({ name, namespace, body }));
  }

  /** Deletes the Lease only while it still has `resourceVersion` (409 otherwise). */
  deleteLease(namespace: string, name: string, resourceVersion: string): Promise<void> {
    return call(`delete lease ${namespace}/${name}`, async () => {
      await this.coordination.deleteNamespacedLease({ name, namespace, body: { preconditions: { resourceVersion } } });
    });
  }

  getConfigMap(namespace: string, name: string): Promise<k8s.V1ConfigMap> {
    return call(`read configmap ${namespace}/${name}`, () => this.core.readNamespacedConfigMap({ name, namespace }));
  }

  listConfigMaps(namespace: string, labelSelector: string): Promise<k8s.V1ConfigMap[]> {
    return call(`list configmaps in ${namespace}`, async () => (await this.core.listNamespacedConfigMap({ namespace, labelSelector })).items);
  }

  createConfigMap(namespace: string, body: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    return call(`create configmap ${namespace}/${body.metadata?.name ?? "?"}`, () => this.core.createNamespacedConfigMap({ namespace, body }));
  }

  mergePatchConfigMap(namespace: string, name: string, body: object): Promise<k8s.V1ConfigMap> {
    return call(`patch configmap ${namespace}/${name}`, () => this.core.patchNamespacedConfigMap({ name, namespace, body }, MERGE_PATCH));
  }

  deleteConfigMap(namespace: string, name: string): Promise<void> {
    return call(`delete configmap ${namespace}/${name}`, async () => {
      await this.core.deleteNamespacedConfigMap({ name, namespace });
    });
  }

  getCustomObject(ref: CustomObjectRef, namespace: string, name: string): Promise<KubeObjectLike> {
    return call(
      `read ${ref.plural}.${ref.group} ${namespace}/${name}`,
      async () => (await this.custom.getNamespacedCustomObject({ ...ref, namespace, name })) as KubeObjectLike,
    );
  }

  listCustomObjects(ref: CustomObjectRef, namespace: string): Promise<KubeObjectLike[]> {
    return call(`list ${ref.plural}.${ref.group} in ${namespace}`, async () => {
      const list = (await this.custom.listNamespacedCustomObject({ ...ref, namespace })) as { items?: KubeObjectLike[] };
      return list.items ?? [];
    });
  }

  listClusterCustomObjects(ref: CustomObjectRef): Promise<KubeObjectLike[]> {
    return call(`list ${ref.plural}.${ref.group}`, async () => {
      const list = (await this.custom.listClusterCustomObject({ ...ref })) as { items?: KubeObjectLike[] };
      return list.items ?? [];
    });
  }

  mergePatchCustomObject(ref: CustomObjectRef, namespace: string, name: string, body: object): Promise<KubeObjectLike> {
    return call(
      `patch ${ref.plural}.${ref.group} ${namespace}/${name}`,
      async () => (await this.custom.patchNamespacedCustomObject({ ...ref, namespace, name, body }, MERGE_PATCH)) as KubeObjectLike,
    );
  }
}

/** `matchLabels` and `matchExpressions` as a label-selector string for list calls. */
export function selectorString(selector: k8s.V1LabelSelector | undefined): string {
  if (!selector) return "";
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(",");
    switch (e.operator) {
      case "In":
        parts.push(`${e.key} in (${values})`);
        break;
      case "NotIn":
        parts.push(`${e.key} notin (${values})`);
        break;
      case "Exists":
        parts.push(e.key);
        break;
      case "DoesNotExist":
        parts.push(`!${e.key}`);
        break;
    }
  }
  return parts.join(",");
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    const e = err as { code?: unknown; body?: unknown; message?: string };
    const status = typeof e.code === "number" ? e.code : undefined;
    // Anything in front of the API server may answer 403 too, without a Status: still a refusal.
    if (status === 403) throw new KubeForbiddenError(operation, parseForbidden(e.body) ?? { resource: "", group: "" }, err);
    throw new KubeApiError(operation, status, apiMessage(e.body) ?? e.message ?? String(err), err);
  }
}

function apiMessage(body: unknown): string | undefined {
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      return body.length > 0 ? body.slice(0, 500) : undefined;
    }
  }
  if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") return (body as { message: string }).message;
  return undefined;
}
