import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "node:http";
import { ObjectStore, type KObject } from "./store.js";
import { T } from "./resources.js";
import type { SimContext } from "./context.js";
import { resolveTimings, type ProfileName, type SimTimings } from "./timing.js";
import { EventRecorder } from "./controllers/events.js";
import { PodController } from "./controllers/pods.js";
import { reconcileReplicaSets } from "./controllers/replicaset.js";
import { DeploymentController } from "./controllers/deployment.js";
import { StatefulSetController } from "./controllers/statefulset.js";
import { KedaController } from "./controllers/keda.js";
import { collectGarbage } from "./controllers/gc.js";
import { createApiServer } from "./api/server.js";
import { closeServer, listen } from "../cluster/endpoints/http.js";
import { SimMetrics } from "./metrics.js";
import { DemandTracker, Gateway, poolInfo } from "./sie/gateway.js";
import { createConfigServer } from "./sie/config.js";
import { LoadGenerator } from "../cluster/endpoints/loadgen.js";
import { DEFAULT_MODELS, type ModelSpec } from "../cluster/endpoints/models.js";
import { createControlHandler } from "./control.js";
import { loadSnapshot, StatePersister, writeFileAtomic } from "./persist.js";
import { renderKubeconfig } from "./kubeconfig.js";
import { ClusterMirror, type MirrorOptions } from "./mirror.js";

export interface SimulatorOptions {
  /** Where state.json, endpoints.json and kubeconfig live. Without it the cluster is memory-only. */
  stateDir?: string;
  /** Ports to bind on 127.0.0.1; 0 (default) picks free ones. */
  apiPort?: number;
  gatewayPort?: number;
  configPort?: number;
  /** Timing profile (default "fast") and per-field overrides. */
  profile?: ProfileName;
  timings?: Partial<SimTimings>;
  /** Models the workers serve. */
  models?: readonly ModelSpec[];
  /** Namespaces that exist on a fresh cluster (default: default, kube-system, kube-public). */
  namespaces?: string[];
  /** Only pods in this namespace back the SIE endpoints (default: all namespaces). */
  sieNamespace?: string;
  /** Write DIR/endpoints.json (default true when stateDir is set). */
  writeEndpoints?: boolean;
  /**
   * Mirror a real cluster instead of simulating one (sim/mirror.ts): no controllers, no API of
   * its own (`api` is the cluster's server), the SIE endpoints serve the pods of `namespace`.
   */
  mirror?: MirrorOptions;
}

export interface SimulatorEndpoints {
  pid: number;
  api: string;
  gateway: string;
  config: string;
  metrics: string;
  kubeconfig?: string;
  startedAt: string;
}

export interface Simulator {
  api: string;
  gateway: string;
  config: string;
  metrics: string;
  /** Path of the kubeconfig written to stateDir, if any. */
  kubeconfigPath?: string;
  /** Kubeconfig text pointing at this simulator (context "sie-sim"). */
  kubeconfig(namespace?: string): string;
  store: ObjectStore;
  ctx: SimContext;
  load: LoadGenerator;
  /** Runs one controller pass now (tests use it to avoid waiting for the next tick). */
  tick(): void;
  /** Flushes state, stops the loop and the servers, removes endpoints.json. */
  stop(): Promise<void>;
}

export const ENDPOINTS_FILE = "endpoints.json";
export const KUBECONFIG_FILE = "kubeconfig";

const DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public"];

function ensureNamespaces(store: ObjectStore, names: string[]): void {
  for (const name of names) {
    if (store.get(T.namespaces, undefined, name)) continue;
    store.create(T.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } as KObject["metadata"], spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
  }
}

/** Starts a simulator in this process: API, gateway and config servers plus the controller loop. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const timings = resolveTimings(opts.profile ?? "fast", opts.timings);
  const models = opts.models ?? DEFAULT_MODELS;
  const store = new ObjectStore();
  const namespaces = opts.namespaces ?? DEFAULT_NAMESPACES;
  if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true });
  const mirror = opts.mirror ? new ClusterMirror(store, opts.mirror) : undefined;
  if (mirror) await mirror.start();
  else if (opts.stateDir) {
    const snap = loadSnapshot(opts.stateDir);
    if (snap) store.restore(snap);
  }
  if (!mirror) ensureNamespaces(store, namespaces);
  const sieNamespace = opts.mirror?.namespace ?? opts.sieNamespace;

  const ctx: SimContext = {
    store,
    timings,
    events: new EventRecorder(store),
    faults: { metricsDown: false, pods: new Map() },
    now: () => Date.now(),
    queueDepth: new Map(),
  };
  const demand = new DemandTracker(ctx);
  let gateway: Gateway | undefined;
  const metrics = new SimMetrics({
    queueDepth: () => {
      const out = new Map();
      const seen = new Set<string>();
      for (const w of gateway?.workers() ?? []) {
        if (seen.has(w.pool)) continue;
        seen.add(w.pool);
        out.set(poolInfo(w), ctx.queueDepth.get(w.pool) ?? 0);
      }
      return out;
    },
    pendingDemand: () => demand.sample(),
    workers: () => (gateway?.workers() ?? []).map((w) => ({ pool: w.pool, version: w.image.version, ready: w.ready })),
    leaseGpus: () => 0,
  });
  gateway = new Gateway(ctx, metrics, demand, { models, ...(sieNamespace ? { namespace: sieNamespace } : {}) });

  const pods = new PodController(ctx);
  const deployments = new DeploymentController(ctx);
  const statefulsets = new StatefulSetController(ctx);
  const keda = new KedaController(ctx);
  const tick = () => {
    for (const step of [
      () => pods.reconcile(),
      () => reconcileReplicaSets(ctx),
      () => deployments.reconcile(),
      () => statefulsets.reconcile(),
      () => keda.reconcile(),
      () => collectGarbage(ctx),
    ]) {
      try {
        step();
      } catch (err) {
        // One bad object must not stop the other controllers; the next tick retries.
        process.stderr.write(`sie-sim: controller error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      }
    }
  };

  let urls = { api: "", gateway: "", config: "", metrics: "" };
  const load = new LoadGenerator(() => urls.gateway, models);
  const reset = () => {
    load.stop();
    ctx.faults.metricsDown = false;
    ctx.faults.pods.clear();
    ctx.queueDepth.clear();
    metrics.registry.resetMetrics();
    store.restore({ format: 1, resourceVersion: Number(store.resourceVersion), objects: {} });
    ensureNamespaces(store, namespaces);
  };

  const apiServer = createApiServer(ctx, createControlHandler({ ctx, load, reset, endpoints: () => ({ ...urls }) }));
  const gatewayServer = gateway.createServer();
  const configServer = createConfigServer(ctx, sieNamespace);
  const servers: Server[] = [...(mirror ? [] : [apiServer]), gatewayServer, configServer];
  try {
    const [api, gw, config] = await Promise.all([
      mirror ? Promise.resolve(mirror.server) : listen(apiServer, opts.apiPort ?? 0),
      listen(gatewayServer, opts.gatewayPort ?? 0),
      listen(configServer, opts.configPort ?? 0),
    ]);
    urls = { api, gateway: gw, config, metrics: `${gw}/metrics` };
  } catch (err) {
    mirror?.stop();
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  const persister = opts.stateDir && !mirror ? new StatePersister(opts.stateDir, store, timings.persistDebounceMs) : undefined;
  persister?.flush();
  const kubeconfigPath = opts.mirror?.kubeconfigPath ?? (opts.stateDir ? join(opts.stateDir, KUBECONFIG_FILE) : undefined);
  if (kubeconfigPath && !mirror) writeFileAtomic(kubeconfigPath, renderKubeconfig(urls.api));
  const endpointsPath = opts.stateDir && opts.writeEndpoints !== false ? join(opts.stateDir, ENDPOINTS_FILE) : undefined;
  if (endpointsPath) {
    const ep: SimulatorEndpoints = { pid: process.pid, ...urls, ...(kubeconfigPath ? { kubeconfig: kubeconfigPath } : {}), startedAt: new Date().toISOString() };
    writeFileAtomic(endpointsPath, JSON.stringify(ep, null, 2) + "\n");
  }

  if (!mirror) tick();
  let running = !mirror;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !running) return;
    busy = true;
    try {
      tick();
    } finally {
      busy = false;
    }
  }, timings.tickMs);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      running = false;
      clearInterval(timer);
      mirror?.stop();
      load.stop();
      persister?.close();
      await Promise.all(servers.map(closeServer));
      if (endpointsPath && existsSync(endpointsPath)) rmSync(endpointsPath, { force: true });
    })();
    return stopped;
  };

  return {
    ...urls,
    ...(kubeconfigPath ? { kubeconfigPath } : {}),
    kubeconfig: (namespace?: string) => renderKubeconfig(urls.api, namespace),
    store,
    ctx,
    load,
    tick,
    stop,
  };
}

/** Writes a kubeconfig for `apiUrl` to `path` (for callers that want one outside stateDir). */
export function writeKubeconfig(path: string, apiUrl: string, namespace?: string): void {
  writeFileSync(path, renderKubeconfig(apiUrl, namespace));
}
