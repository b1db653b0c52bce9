/**
 * The endpoint server's picture of the real cluster: the SIE pods, Services and worker
 * StatefulSets of every namespace, the ConfigMaps, the fault scopes, and the pods waiting for an
 * image pull with their nodes, as the API server reports them.
 *
 * Polling, not watching: a full list of a few small collections is cheap, has no resume logic,
 * and a missed poll only delays the picture by one interval.
 */
import * as k8s from "@kubernetes/client-node";
import { CHART_LABELS } from "../../core/workloads.js";
import { MOVES_KEY, readStoredMoves, type DigestMove } from "./digestMoves.js";
import { FAULT_SCOPES_OBJECT, readStoredScopes, type FaultScope } from "./faultScopes.js";
import { PREPULL_COMPONENT, PULLS_KEY, readStoredPullTimes, waitsForPull, type PullTime } from "./pullTimes.js";
import { readStoredStartDelays, STARTS_KEY, type StartDelay } from "./startDelays.js";
import { COMPONENTS, componentOf } from "./view.js";

export interface NamespaceObjects {
  pods: k8s.V1Pod[];
  services: k8s.V1Service[];
  statefulSets: k8s.V1StatefulSet[];
  /** Only the chart's gpu-config ConfigMaps. */
  configMaps: k8s.V1ConfigMap[];
}

/** What the server keeps in the fault-scope ConfigMap: the fault scopes, the moved tags, the start delays, the pull times. */
export interface StoredControls {
  scopes: readonly FaultScope[];
  moves: readonly DigestMove[];
  starts: readonly StartDelay[];
  pulls: readonly PullTime[];
}

export interface ClusterPicture {
  polledAt: number;
  /** When this poll's lists began: the picture shows every change written before. */
  listedAt: number;
  /** Per namespace; its pods are the SIE pods only (image pre-pull pods are in `pulling` alone, never served). */
  namespaces: ReadonlyMap<string, NamespaceObjects>;
  /** Worker and image pre-pull pods of every namespace that wait for an image pull (pullTimes.ts). */
  pulling: readonly k8s.V1Pod[];
  /** The nodes with their images, listed only while a pod waits for a pull. */
  nodes: readonly k8s.V1Node[];
}

export interface KubeTarget {
  /** Kubeconfig file of the cluster (its path only; the content is never logged). */
  kubeconfigPath: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
}

export function loadKubeConfig(t: KubeTarget): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(t.kubeconfigPath);
  } catch (err) {
    throw new Error(`cannot load the kubeconfig ${t.kubeconfigPath}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
  if (t.context) {
    if (!kc.getContexts().some((c) => c.name === t.context)) throw new Error(`the kubeconfig ${t.kubeconfigPath} has no context "${t.context}"`);
    kc.setCurrentContext(t.context);
  }
  if (!kc.getCurrentCluster()?.server) throw new Error(`the kubeconfig ${t.kubeconfigPath} names no cluster server for its current context`);
  return kc;
}

const SIE_PODS = `${CHART_LABELS.component} in (${COMPONENTS.join(",")})`;
/** SIE pods, and the pre-pull pods that may wait for an image pull beside them. */
const LISTED_PODS = `${CHART_LABELS.component} in (${[...COMPONENTS, PREPULL_COMPONENT].join(",")})`;

/** The chart's `<fullname>-gpu-config`: the GPU types the gateway reports as configured. */
export const GPU_CONFIG_SUFFIX = "-gpu-config";

const EMPTY: ClusterPicture = { polledAt: 0, listedAt: 0, namespaces: new Map(), pulling: [], nodes: [] };

export class ClusterPoller {
  private picture = EMPTY;
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Last poll error, reported once per change so a flapping API does not flood the log. */
  private lastError = "";
  private stored: StoredControls = { scopes: [], moves: [], starts: [], pulls: [] };
  /** Bumped by every scope, move, start-delay or pull-time write, so a poll that started before one does not undo it. */
  private scopeWrites = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly kc: k8s.KubeConfig,
    private readonly intervalMs: number,
    private readonly onStored: (stored: StoredControls) => void = () => undefined,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }

  get current(): ClusterPicture {
    return this.picture;
  }

  get faultScopes(): readonly FaultScope[] {
    return this.stored.scopes;
  }

  get digestMoves(): readonly DigestMove[] {
    return this.stored.moves;
  }

  get startDelays(): readonly StartDelay[] {
    return this.stored.starts;
  }

  get pullTimes(): readonly PullTime[] {
    return this.stored.pulls;
  }

  /** First sync (must succeed, so a wrong kubeconfig fails at start), then polls until stop(). */
  async start(): Promise<void> {
    await this.sync();
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.sync()
          .then(
            () => {
              this.lastError = "";
            },
            (err: unknown) => {
              const msg = err instanceof Error ? err.message : String(err);
              if (msg !== this.lastError) this.log(`sie-fleet endpoints: polling the API server failed: ${msg} (keeping the last picture)`);
              this.lastError = msg;
            },
          )
          .finally(loop);
      }, this.intervalMs);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** A poll now, shared by every caller until it ends: for an object newer than the last poll (a pod the API server already dials). */
  refresh(): Promise<void> {
    this.refreshing ??= this.sync().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Lists everything once and replaces the picture. */
  async sync(): Promise<void> {
    const writes = this.scopeWrites;
    const listedAt = Date.now();
    // Only the ConfigMaps it reads: the charts' (Helm-managed, the gpu-config among them) and its
    // own fault scopes; a lane cluster holds many others (run journals) that would be listed twice a second.
    const [pods, services, statefulSets, chartMaps, scopeMaps] = await Promise.all([
      // Pre-pull pods (one per node and pool of every release) only while a pull time is set: only then can they wait for a pull.
      this.core.listPodForAllNamespaces({ labelSelector: this.stored.pulls.length > 0 ? LISTED_PODS : SIE_PODS }),
      this.core.listServiceForAllNamespaces({ labelSelector: SIE_PODS }),
      this.apps.listStatefulSetForAllNamespaces({ labelSelector: `${CHART_LABELS.component}=worker` }),
      this.core.listConfigMapForAllNamespaces({ labelSelector: "app.kubernetes.io/managed-by=Helm" }),
      this.core.listNamespacedConfigMap({ namespace: FAULT_SCOPES_OBJECT.namespace, fieldSelector: `metadata.name=${FAULT_SCOPES_OBJECT.name}` }),
    ]);
    const pulling = pods.items.filter(waitsForPull);
    // Nodes (with their image lists) only matter to a pod waiting for a pull; most polls have none.
    const nodes = pulling.length > 0 ? (await this.core.listNode()).items : [];
    const namespaces = new Map<string, NamespaceObjects>();
    const of = (ns: string | undefined): NamespaceObjects => {
      const key = ns ?? "default";
      let o = namespaces.get(key);
      if (!o) {
        o = { pods: [], services: [], statefulSets: [], configMaps: [] };
        namespaces.set(key, o);
      }
      return o;
    };
    for (const p of pods.items) if (componentOf(p)) of(p.metadata?.namespace).pods.push(p);
    for (const s of services.items) of(s.metadata?.namespace).services.push(s);
    for (const s of statefulSets.items) of(s.metadata?.namespace).statefulSets.push(s);
    for (const c of chartMaps.items) {
      const ns = c.metadata?.namespace;
      if (c.metadata?.name?.endsWith(GPU_CONFIG_SUFFIX) && namespaces.has(ns ?? "")) of(ns).configMaps.push(c);
    }
    // A write since this poll began is newer than what the poll read.
    if (writes === this.scopeWrites) {
      const stored = scopeMaps.items[0];
      this.takeStored({
        scopes: readStoredScopes(stored?.data),
        moves: readStoredMoves(stored?.data),
        starts: readStoredStartDelays(stored?.data),
        pulls: readStoredPullTimes(stored?.data),
      });
    }
    this.picture = { polledAt: Date.now(), listedAt, namespaces, pulling, nodes };
  }

  private takeStored(next: StoredControls): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.stored);
    this.stored = next;
    if (changed) this.onStored(next);
  }

  /** The scopes, moved tags, start delays and pull times as last read or written. */
  get controls(): StoredControls {
    return this.stored;
  }

  /** Stores the scopes, moved tags, start delays and pull times in the ConfigMap (created when missing) and in the picture at once. */
  async writeControls(next: StoredControls): Promise<void> {
    this.scopeWrites++;
    const { namespace, name, key } = FAULT_SCOPES_OBJECT;
    const data = {
      [key]: JSON.stringify(next.scopes),
      [MOVES_KEY]: JSON.stringify(next.moves),
      [STARTS_KEY]: JSON.stringify(next.starts),
      [PULLS_KEY]: JSON.stringify(next.pulls),
    };
    try {
      const existing = await this.core.readNamespacedConfigMap({ namespace, name });
      await this.core.replaceNamespacedConfigMap({ namespace, name, body: { ...existing, data } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "sie-fleet-endpoints" } }, data },
      });
    } finally {
      this.scopeWrites++;
    }
    this.takeStored(next);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}
