/**
 * The kwok objects behind `kubectl logs` and `kubectl port-forward` of SIE pods. kwok plays the
 * nodes' kubelet: its server answers the API server's containerLogs and portForward calls from
 * `Logs` and `PortForward` objects (kwok.x-k8s.io/v1alpha1, watched with `--enable-crds`), looked
 * up by the pod's namespace and name. For every SIE pod with an address, this keeps one of each,
 * named like the pod:
 *
 * - `Logs`: the pod's log file (podLogs.ts), for every container.
 * - `PortForward`: for each declared container port, a command kwok runs per forwarded
 *   connection, `node egressDial.mjs <egress socket> <pod ip>:<port>`, which reaches the pod the
 *   way the API server's proxy does.
 *
 * Objects and files of pods that are gone are removed; each object also names its pod as owner,
 * so the garbage collector removes what a stopped endpoint server left. A pod recreated under the
 * same name (a StatefulSet's) gets a new, empty log and objects pointing at its new address.
 *
 * kwok would run whatever command a PortForward names, and read whatever file a Logs names, as
 * the user running the cluster: whoever may create these objects can do that. On this loopback
 * cluster that is its admin (system:masters); no `Exec` kind is enabled at all.
 */
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../../core/paths.js";
import { startLine, type PodLogs } from "./podLogs.js";
import type { SiePod } from "./view.js";

export const KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1";
const FIELD_MANAGER = "sie-fleet-endpoints";
const MANAGED_BY = { "app.kubernetes.io/managed-by": FIELD_MANAGER } as const;
/** The script a PortForward runs per connection. */
export const EGRESS_DIAL_SCRIPT = path.join(REPO_ROOT, "cluster", "endpoints", "egressDial.mjs");

/** What a pod's objects depend on: when any of it changes they are applied again. */
function identity(pod: SiePod): string {
  return JSON.stringify([pod.uid, pod.ips[0] ?? "", pod.ports]);
}

function metadata(pod: SiePod): k8s.V1ObjectMeta {
  return {
    name: pod.name,
    namespace: pod.namespace,
    labels: { ...MANAGED_BY },
    ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid }],
  };
}

/** The pod's kwok `Logs`: every container's log is the pod's file. */
export function logsObject(pod: SiePod, logFile: string): k8s.KubernetesObject & { spec: unknown } {
  return { apiVersion: KWOK_API_VERSION, kind: "Logs", metadata: metadata(pod), spec: { logs: [{ logsFile: logFile }] } };
}

/** The pod's kwok `PortForward`: each declared port through the egress, as the API server reaches it. */
export function portForwardObject(
  pod: SiePod,
  egressSocket: string,
  node = process.execPath,
  script = EGRESS_DIAL_SCRIPT,
): k8s.KubernetesObject & { spec: unknown } {
  const ip = pod.ips[0] ?? "";
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return {
    apiVersion: KWOK_API_VERSION,
    kind: "PortForward",
    metadata: metadata(pod),
    spec: { forwards: pod.ports.map((port) => ({ ports: [port], command: [node, script, egressSocket, `${host}:${port}`] })) },
  };
}

interface Kept {
  identity: string;
  uid: string;
  started: boolean;
}

/** Keeps the objects and log files in step with the SIE pods, one sync at a time. */
export class KubeletObjects {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly kept = new Map<string, Kept>();
  private first = true;
  private running: Promise<void> | undefined;

  constructor(
    kc: k8s.KubeConfig,
    private readonly logs: PodLogs,
    private readonly egressSocket: string,
    private readonly log: (line: string) => void,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  /** Brings objects and files in line with `pods`; a call while one runs is dropped (the next poll repeats it). */
  sync(pods: readonly SiePod[]): Promise<void> {
    this.running ??= this.run(pods)
      .catch((err: unknown) => this.log(`sie-fleet endpoints: kwok Logs/PortForward objects: ${(err as Error).message}`))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(pods: readonly SiePod[]): Promise<void> {
    const want = new Map(pods.filter((p) => p.ips.length > 0).map((p) => [`${p.namespace}/${p.name}`, p]));
    if (this.first) {
      await this.removeStale(want);
      this.first = false;
    }
    for (const [key, pod] of want) {
      const kept = this.kept.get(key);
      const same = kept?.uid === pod.uid;
      const id = identity(pod);
      // A file that was there before this server ran has its pod's start line already.
      let startedBefore = same && kept.started;
      if (kept?.identity !== id) {
        const { file, created } = this.logs.open(pod.namespace, pod.name, kept !== undefined && !same);
        if (!kept && !created) startedBefore = pod.started;
        for (const obj of [logsObject(pod, file), portForwardObject(pod, this.egressSocket)]) {
          await this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
        }
      }
      if (pod.started && !startedBefore) this.logs.line(pod, startLine(pod));
      this.kept.set(key, { identity: id, uid: pod.uid, started: startedBefore || pod.started });
    }
    for (const key of [...this.kept.keys()]) {
      if (want.has(key)) continue;
      const [namespace, name] = key.split("/") as [string, string];
      await this.remove(namespace, name);
      this.kept.delete(key);
    }
  }

  /** Objects and files a previous run left for pods that are gone (or for which this run will write anew). */
  private async removeStale(want: ReadonlyMap<string, SiePod>): Promise<void> {
    const selector = Object.entries(MANAGED_BY)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const left = new Set<string>();
    for (const plural of ["logs", "portforwards"]) {
      const list = (await this.custom.listClusterCustomObject({ group: "kwok.x-k8s.io", version: "v1alpha1", plural, labelSelector: selector })) as {
        items?: k8s.KubernetesObject[];
      };
      for (const o of list.items ?? []) left.add(`${o.metadata?.namespace}/${o.metadata?.name}`);
    }
    for (const f of this.logs.files()) {
      const m = /^([^_]+)_(.+)\.log$/.exec(f);
      if (m) left.add(`${m[1]}/${m[2]}`);
    }
    for (const key of left) {
      if (want.has(key)) continue;
      const [namespace, name] = key.split("/") as [string, string];
      await this.remove(namespace, name);
    }
  }

  private async remove(namespace: string, name: string): Promise<void> {
    this.logs.remove(namespace, name);
    for (const kind of ["Logs", "PortForward"]) {
      try {
        await this.objects.delete({ apiVersion: KWOK_API_VERSION, kind, metadata: { name, namespace } });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
  }
}
