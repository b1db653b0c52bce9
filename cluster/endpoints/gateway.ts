/**
 * The SIE gateway of one namespace as seen from outside: health endpoints, model list, encode
 * routed round-robin to Ready worker pods (whose faults apply), per-worker probes and /metrics.
 * It answers only while its Service has a Ready gateway pod behind it, like a Service with no
 * endpoints otherwise.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { extraLatencyMs, failsRequest } from "../faults.js";
import { readBody, sendJson, sendText } from "./http.js";
import type { EndpointMetrics, PoolInfo } from "./metrics.js";
import { embed, type ModelSpec } from "./models.js";
import type { NamespaceView } from "./namespaceView.js";
import { NO_REQUEST_LOG, type RequestLog } from "./podLogs.js";
import { RoundRobin, type SiePod } from "./view.js";

export const VERSION_HEADER = "X-SIE-Server-Version";
export const GATEWAY_VERSION_HEADER = "X-SIE-Gateway-Version";

export interface Timings {
  /** Base encode latency and random jitter added on top. */
  encodeLatencyMs: number;
  encodeJitterMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests that found no ready worker, remembered for DEMAND_WINDOW_MS, feed `sie_gateway_pending_demand`. */
const DEMAND_WINDOW_MS = 15_000;

/**
 * What the gateways of every namespace share: round-robin positions, per-pod request counts (so
 * `-errors10` fails exactly every tenth request a pod serves), in-flight encodes per pool and
 * recent requests that found no worker.
 */
export class GatewayState {
  private readonly rr = new Map<string, RoundRobin>();
  private readonly served = new Map<string, number>();
  private readonly inFlight = new Map<string, { info: PoolInfo; n: number }>();
  private readonly demand: { at: number; info: PoolInfo }[] = [];

  roundRobin(key: string): RoundRobin {
    let r = this.rr.get(key);
    if (!r) {
      r = new RoundRobin();
      this.rr.set(key, r);
    }
    return r;
  }

  /** Counts one request served by `pod`; true when its fault makes this one fail. */
  fails(pod: SiePod): boolean {
    const n = (this.served.get(pod.uid) ?? 0) + 1;
    this.served.set(pod.uid, n);
    return failsRequest(pod.fault, n);
  }

  async inFlightOn<T>(info: PoolInfo, work: () => Promise<T>): Promise<T> {
    const key = `${info.namespace}/${info.pool}`;
    const e = this.inFlight.get(key) ?? { info, n: 0 };
    e.n++;
    this.inFlight.set(key, e);
    try {
      return await work();
    } finally {
      e.n = Math.max(0, e.n - 1);
    }
  }

  queueDepth(namespace: string, pool?: string): number {
    let n = 0;
    for (const e of this.inFlight.values()) if (e.info.namespace === namespace && (pool === undefined || e.info.pool === pool)) n += e.n;
    return n;
  }

  queueDepths(): Map<PoolInfo, number> {
    return new Map([...this.inFlight.values()].map((e) => [e.info, e.n]));
  }

  addDemand(info: PoolInfo): void {
    this.demand.push({ at: Date.now(), info });
    if (this.demand.length > 10_000) this.demand.shift();
  }

  pendingDemand(): Map<PoolInfo, number> {
    const horizon = Date.now() - DEMAND_WINDOW_MS;
    while (this.demand[0] && this.demand[0].at < horizon) this.demand.shift();
    const byKey = new Map<string, { info: PoolInfo; n: number }>();
    for (const h of this.demand) {
      const k = JSON.stringify(h.info);
      const e = byKey.get(k) ?? { info: h.info, n: 0 };
      e.n++;
      byKey.set(k, e);
    }
    return new Map([...byKey.values()].map((e) => [e.info, e.n]));
  }
}

/**
 * A worker's probes (`healthz` or `readyz`, the chart's startup/liveness and readiness paths), as
 * the kubelet would see them: `ok`, or 503 `not started` / `not ready`; 404 for any other path.
 */
export function workerProbe(w: SiePod, res: ServerResponse, probe: string): void {
  const headers = { [VERSION_HEADER]: w.image.version };
  if (probe !== "healthz" && probe !== "readyz") {
    sendText(res, 404, `no route ${probe}`, headers);
    return;
  }
  const [ok, notOk] = probe === "healthz" ? [w.started, "not started"] : [w.ready, "not ready"];
  sendText(res, ok ? 200 : 503, ok ? "ok" : notOk, headers);
}

export class Gateway {
  constructor(
    private readonly state: GatewayState,
    private readonly metrics: EndpointMetrics,
    private readonly models: readonly ModelSpec[],
    private readonly timings: Timings,
    /** Each answer a gateway pod gives, and each encode a worker serves behind it. */
    private readonly requestLog: RequestLog = NO_REQUEST_LOG,
  ) {}

  /** Answers `path` (below `…/namespaces/<ns>/gateway`) for the namespace in `view`, as one of its Ready gateway pods picked round-robin. */
  async handle(view: NamespaceView, req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    if (path === "/metrics") return this.renderMetrics(view, res);
    const worker = /^\/workers\/([^/]+)\/(healthz|readyz)$/.exec(path);
    if (worker) {
      const w = view.workers().find((x) => x.name === decodeURIComponent(worker[1]!));
      if (!w) return sendText(res, 404, "worker not found");
      return workerProbe(w, res, worker[2]!);
    }

    const endpoints = view.endpoints("gateway");
    const gw = this.state.roundRobin(`${view.namespace}|gateway`).pick(endpoints ?? []);
    if (!gw) {
      // Nothing would answer behind the Service, so no version header either.
      const message = endpoints ? "no ready gateway pods" : `no Service labelled app.kubernetes.io/component=gateway in namespace ${view.namespace}`;
      return sendJson(res, 503, { status: "unavailable", message });
    }
    return this.serve(view, gw, req, res, path, url);
  }

  /**
   * Answers `path` at the root of gateway pod `gw` itself, as a connection to its IP would (the
   * API server's pod and service proxy): like `handle`, but this pod, Ready or not.
   */
  async handlePod(view: NamespaceView, gw: SiePod, req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    if (path === "/metrics") return this.renderMetrics(view, res);
    // Its readiness probe: the pod is Ready because this answers 200, so a pod that is not answers 503.
    if (path === "/readyz" && !gw.ready) return sendJson(res, 503, { status: "not ready" }, { [VERSION_HEADER]: gw.image.version });
    return this.serve(view, gw, req, res, path, url);
  }

  private async renderMetrics(view: NamespaceView, res: ServerResponse): Promise<void> {
    const text = await this.metrics.renderNamespace(view.namespace);
    res.writeHead(200, { "Content-Type": this.metrics.contentType });
    res.end(text);
  }

  /** The gateway's own routes, answered by `gw`. */
  private async serve(view: NamespaceView, gw: SiePod, req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    this.requestLog.answered(gw, req, res, path);
    const headers = { [VERSION_HEADER]: gw.image.version };
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" }, headers);
    if (path === "/readyz") return sendJson(res, 200, { status: "ready", healthy_workers: view.workers().filter((w) => w.ready).length }, headers);
    if (path === "/health") return sendJson(res, 200, this.health(view), headers);
    if (path === "/v1/models") return sendJson(res, 200, { models: this.modelList(view) }, headers);
    const enc = /^\/v1\/encode\/(.+)$/.exec(path);
    if (enc) {
      if (req.method !== "POST") return sendJson(res, 405, { error: "use POST" }, headers);
      return this.encode(view, req, res, gw, decodeURIComponent(enc[1]!), url);
    }
    sendJson(res, 404, { error: `no route ${req.method} ${path}` }, headers);
  }

  private modelList(view: NamespaceView) {
    const ready = view.workers().filter((w) => w.ready);
    if (ready.length === 0) return [];
    const gpuTypes = [...new Set(ready.map((w) => w.gpuType).filter((g) => g !== ""))].sort();
    const depth = this.state.queueDepth(view.namespace);
    return this.models.map((m) => ({ name: m.name, dims: m.dims, state: "loaded", worker_count: ready.length, gpu_types: gpuTypes, total_queue_depth: depth }));
  }

  private health(view: NamespaceView) {
    const ready = view.workers().filter((w) => w.ready);
    return {
      status: ready.length > 0 ? "healthy" : "degraded",
      type: "gateway",
      configured_gpu_types: view.configuredGpuTypes(),
      live_gpu_types: [...new Set(ready.map((w) => w.gpuType).filter((g) => g))].sort(),
      cluster: {
        worker_count: ready.length,
        gpu_count: ready.reduce((n, w) => n + w.gpuCount, 0),
        models_loaded: ready.length > 0 ? this.models.length : 0,
        total_qps: 0,
      },
      workers: ready.map((w) => ({
        name: w.name,
        url: `http://${w.name}.${w.subdomain || "sie-worker"}.${w.namespace}.svc.cluster.local:8080`,
        gpu: w.gpuType,
        gpu_count: w.gpuCount,
        loaded_models: this.models.map((m) => m.name),
        queue_depth: this.state.queueDepth(view.namespace, w.pool),
        memory_used_bytes: 0,
        memory_total_bytes: 0,
        healthy: true,
        bundle: w.bundle,
        bundle_config_hash: w.image.tag,
        version: w.image.version,
        pool: w.pool,
      })),
      models: this.modelList(view).map(({ name, state, worker_count, gpu_types, total_queue_depth }) => ({
        name,
        state,
        worker_count,
        gpu_types,
        total_queue_depth,
      })),
    };
  }

  private async encode(view: NamespaceView, req: IncomingMessage, res: ServerResponse, gw: SiePod, model: string, url: URL): Promise<void> {
    const { namespace } = view;
    const started = performance.now();
    const wantPool = url.searchParams.get("pool") ?? (req.headers["x-sie-pool"] as string | undefined);
    const finish = (code: number, body: unknown, pool: string, version: string, extra: Record<string, string> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.gatewayRequests.inc({ namespace, pool, status: String(code), version, model, endpoint: "encode" });
      this.metrics.gatewayDuration.observe({ namespace, pool, version }, seconds);
      if (code >= 500) this.metrics.gatewayErrors.inc({ namespace, pool, status: String(code), version });
      sendJson(res, code, body, { [VERSION_HEADER]: version, [GATEWAY_VERSION_HEADER]: gw.image.version, ...extra });
    };
    let payload: { items?: { text?: unknown }[] };
    try {
      payload = JSON.parse(await readBody(req)) as typeof payload;
    } catch {
      return finish(400, { error: "body must be JSON" }, wantPool ?? "", gw.image.version);
    }
    if (!Array.isArray(payload.items) || payload.items.length === 0) {
      return finish(400, { error: 'body must be {"items":[{"text":"..."}]}' }, wantPool ?? "", gw.image.version);
    }
    const spec = this.models.find((m) => m.name === model);
    if (!spec) return finish(404, { error: `model ${JSON.stringify(model)} not found` }, wantPool ?? "", gw.image.version);
    if (this.state.fails(gw)) return finish(500, { error: "gateway internal error (injected fault)", fault: gw.fault }, wantPool ?? "", gw.image.version);
    await sleep(extraLatencyMs(gw.fault));

    const candidates = view.workers().filter((w) => w.ready && (!wantPool || w.pool === wantPool));
    const w = this.state.roundRobin(`${namespace}|${wantPool ?? "*"}`).pick(candidates);
    if (!w) {
      const pool = wantPool ?? view.workers()[0]?.pool ?? "";
      const info = view.poolInfo(pool);
      this.state.addDemand(info);
      this.metrics.rejected.inc({ namespace, reason: "no_ready_workers", pool });
      return finish(202, { status: "provisioning", message: `no ready workers for ${model}; retry later` }, pool, gw.image.version, { "Retry-After": "5" });
    }

    const t0 = performance.now();
    await this.state.inFlightOn(view.poolInfo(w.pool), () =>
      sleep(this.timings.encodeLatencyMs + Math.random() * this.timings.encodeJitterMs + extraLatencyMs(w.fault)),
    );
    const v = w.image.version;
    const workerHeaders = { "X-SIE-Worker": w.name, "X-SIE-Pool": w.pool };
    const failed = this.state.fails(w);
    const code = failed ? 500 : 200;
    this.requestLog.served(w, "POST", `/v1/encode/${model}`, code);
    this.metrics.requests.inc({ namespace, pool: w.pool, pod: w.name, status: String(code), version: v, model });
    this.metrics.duration.observe({ namespace, pool: w.pool, version: v }, (performance.now() - t0) / 1000);
    if (failed) {
      this.metrics.errors.inc({ namespace, pool: w.pool, pod: w.name, version: v });
      return finish(500, { error: "worker internal error (injected fault)", fault: w.fault, worker: w.name }, w.pool, v, workerHeaders);
    }
    const items = payload.items.map((it) => ({ dense: embed(String(it?.text ?? ""), spec.dims) }));
    finish(200, { model, items }, w.pool, v, workerHeaders);
  }
}
