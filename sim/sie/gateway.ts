import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SimContext } from "../context.js";
import { readBody, sendJson, sendText } from "../../cluster/endpoints/http.js";
import type { PoolInfo, SimMetrics } from "../metrics.js";
import { ERRORS10_RATE } from "../../cluster/faults.js";
import { T } from "../resources.js";
import { RoundRobin, siePods, type SiePod } from "./view.js";
import { embed, type ModelSpec } from "../../cluster/endpoints/models.js";

export const VERSION_HEADER = "X-SIE-Server-Version";

export interface GatewayOptions {
  models: readonly ModelSpec[];
  /** Only pods in this namespace count; all namespaces when unset. */
  namespace?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests that found no ready worker, remembered briefly, feed `sie_gateway_pending_demand`. */
export class DemandTracker {
  private readonly hits: { at: number; info: PoolInfo }[] = [];
  constructor(private readonly ctx: SimContext) {}
  add(info: PoolInfo): void {
    this.hits.push({ at: this.ctx.now(), info });
    if (this.hits.length > 10_000) this.hits.shift();
  }
  sample(): Map<PoolInfo, number> {
    const horizon = this.ctx.now() - 15 * this.ctx.timings.simSecondMs;
    while (this.hits[0] && this.hits[0].at < horizon) this.hits.shift();
    const byKey = new Map<string, { info: PoolInfo; n: number }>();
    for (const h of this.hits) {
      const k = `${h.info.pool}|${h.info.machine_profile}|${h.info.bundle}`;
      const e = byKey.get(k) ?? { info: h.info, n: 0 };
      e.n++;
      byKey.set(k, e);
    }
    return new Map([...byKey.values()].map((e) => [e.info, e.n]));
  }
}

export function poolInfo(w: SiePod): PoolInfo {
  return { pool: w.pool, machine_profile: w.machineProfile, bundle: w.bundle };
}

/**
 * The SIE gateway as seen from outside: health endpoints, model list, encode routed round-robin
 * to Ready worker pods (whose image-tag faults apply), per-worker probes and /metrics.
 * It answers only while at least one gateway pod is Ready, like a Service with no endpoints.
 */
export class Gateway {
  private readonly gatewayRR = new RoundRobin();
  private readonly workerRR = new Map<string, RoundRobin>();
  /** Per-pod encode counter, so `-errors10` fails exactly every tenth request it serves. */
  private readonly served = new Map<string, number>();

  constructor(
    private readonly ctx: SimContext,
    private readonly metrics: SimMetrics,
    private readonly demand: DemandTracker,
    private readonly opts: GatewayOptions,
  ) {}

  createServer(): Server {
    return createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.end();
      });
    });
  }

  workers(): SiePod[] {
    return siePods(this.ctx, "worker", this.opts.namespace);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const p = url.pathname;
    if (p === "/metrics") {
      const text = await this.metrics.render();
      res.writeHead(200, { "Content-Type": this.metrics.contentType });
      res.end(text);
      return;
    }
    const worker = /^\/workers\/([^/]+)\/(healthz|readyz)$/.exec(p);
    if (worker) return this.workerProbe(res, decodeURIComponent(worker[1]!), worker[2] as "healthz" | "readyz");

    const gateways = siePods(this.ctx, "gateway", this.opts.namespace).filter((g) => g.ready);
    const gw = this.gatewayRR.pick(gateways);
    if (!gw) {
      // No ready gateway pod: nothing would answer behind the Service, so no version header either.
      sendJson(res, 503, { status: "unavailable", message: "no ready gateway pods" });
      return;
    }
    const headers = { [VERSION_HEADER]: gw.image.version };
    if (p === "/healthz") return sendJson(res, 200, { status: "ok" }, headers);
    if (p === "/readyz") {
      return sendJson(res, 200, { status: "ready", healthy_workers: this.workers().filter((w) => w.ready).length }, headers);
    }
    if (p === "/health") return sendJson(res, 200, this.health(), headers);
    if (p === "/v1/models") return sendJson(res, 200, { models: this.models() }, headers);
    const enc = /^\/v1\/encode\/(.+)$/.exec(p);
    if (enc) {
      if (req.method !== "POST") return sendJson(res, 405, { error: "use POST" }, headers);
      return this.encode(req, res, gw, decodeURIComponent(enc[1]!), url);
    }
    sendJson(res, 404, { error: `no route ${req.method} ${p}` }, headers);
  }

  private workerProbe(res: ServerResponse, name: string, probe: "healthz" | "readyz"): void {
    const w = this.workers().find((x) => x.name === name);
    if (!w) return sendText(res, 404, "worker not found");
    const headers = { [VERSION_HEADER]: w.image.version };
    if (probe === "healthz") return w.started ? sendText(res, 200, "ok", headers) : sendText(res, 503, "not started", headers);
    return w.ready ? sendText(res, 200, "ok", headers) : sendText(res, 503, "not ready", headers);
  }

  private models() {
    const ready = this.workers().filter((w) => w.ready);
    if (ready.length === 0) return [];
    const gpuTypes = [...new Set(ready.map((w) => w.gpuType).filter((g) => g !== ""))].sort();
    return this.opts.models.map((m) => ({
      name: m.name,
      dims: m.dims,
      state: "loaded",
      worker_count: ready.length,
      gpu_types: gpuTypes,
      total_queue_depth: ready.reduce((n, w) => n + (this.ctx.queueDepth.get(w.pool) ?? 0), 0),
    }));
  }

  private health() {
    const all = this.workers();
    const ready = all.filter((w) => w.ready);
    const configured = new Set<string>();
    for (const cm of this.ctx.store.list(T.configmaps, this.opts.namespace)) {
      if (!cm.metadata.name.endsWith("-gpu-config")) continue;
      for (const g of String(cm.data?.["available-gpus"] ?? "").split(",")) if (g.trim()) configured.add(g.trim());
    }
    if (configured.size === 0) for (const w of all) if (w.gpuType) configured.add(w.gpuType);
    return {
      status: ready.length > 0 ? "healthy" : "degraded",
      type: "gateway",
      configured_gpu_types: [...configured].sort(),
      live_gpu_types: [...new Set(ready.map((w) => w.gpuType).filter((g) => g))].sort(),
      cluster: {
        worker_count: ready.length,
        gpu_count: ready.reduce((n, w) => n + w.gpuCount, 0),
        models_loaded: ready.length > 0 ? this.opts.models.length : 0,
        total_qps: 0,
      },
      workers: ready.map((w) => ({
        name: w.name,
        url: `http://${w.name}.${w.pod.spec?.subdomain ?? "sie-worker"}.${w.namespace}.svc.cluster.local:8080`,
        gpu: w.gpuType,
        gpu_count: w.gpuCount,
        loaded_models: this.opts.models.map((m) => m.name),
        queue_depth: this.ctx.queueDepth.get(w.pool) ?? 0,
        memory_used_bytes: 0,
        memory_total_bytes: 0,
        healthy: true,
        bundle: w.bundle,
        bundle_config_hash: w.image.tag,
        version: w.image.version,
        pool: w.pool,
      })),
      models: this.models().map(({ name, state, worker_count, gpu_types, total_queue_depth }) => ({ name, state, worker_count, gpu_types, total_queue_depth })),
    };
  }

  private async encode(req: IncomingMessage, res: ServerResponse, gw: SiePod, model: string, url: URL): Promise<void> {
    const started = performance.now();
    const wantPool = url.searchParams.get("pool") ?? (req.headers["x-sie-pool"] as string | undefined);
    const finish = (code: number, body: unknown, pool: string, version: string, extra: Record<string, string> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.gatewayRequests.inc({ pool, status: String(code), version, model, endpoint: "encode" });
      this.metrics.gatewayDuration.observe({ pool, version }, seconds);
      if (code >= 500) this.metrics.gatewayErrors.inc({ pool, status: String(code), version });
      sendJson(res, code, body, { [VERSION_HEADER]: version, "X-SIE-Gateway-Version": gw.image.version, ...extra });
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
    const spec = this.opts.models.find((m) => m.name === model);
    if (!spec) return finish(404, { error: `model ${JSON.stringify(model)} not found` }, wantPool ?? "", gw.image.version);
    if (this.failsFor(gw)) {
      return finish(500, { error: "gateway internal error (simulated fault)", fault: gw.fault }, wantPool ?? "", gw.image.version);
    }
    if (gw.fault === "slow") await sleep(this.ctx.timings.slowExtraMs);

    const candidates = this.workers().filter((w) => w.ready && (!wantPool || w.pool === wantPool));
    const rrKey = wantPool ?? "*";
    const rr = this.workerRR.get(rrKey) ?? new RoundRobin();
    this.workerRR.set(rrKey, rr);
    const w = rr.pick(candidates);
    if (!w) {
      const any = this.workers().find((x) => !wantPool || x.pool === wantPool);
      const info = any ? poolInfo(any) : { pool: wantPool ?? "", machine_profile: wantPool ?? "", bundle: "default" };
      this.demand.add(info);
      this.metrics.rejected.inc({ reason: "no_ready_workers", pool: info.pool });
      return finish(202, { status: "provisioning", message: `no ready workers for ${model}; retry later` }, info.pool, gw.image.version, { "Retry-After": "5" });
    }

    this.ctx.queueDepth.set(w.pool, (this.ctx.queueDepth.get(w.pool) ?? 0) + 1);
    const t0 = performance.now();
    try {
      const { encodeLatencyMs, encodeJitterMs, slowExtraMs } = this.ctx.timings;
      await sleep(encodeLatencyMs + Math.random() * encodeJitterMs + (w.fault === "slow" ? slowExtraMs : 0));
    } finally {
      this.ctx.queueDepth.set(w.pool, Math.max(0, (this.ctx.queueDepth.get(w.pool) ?? 1) - 1));
    }
    const v = w.image.version;
    const workerHeaders = { "X-SIE-Worker": w.name, "X-SIE-Pool": w.pool };
    const failed = this.failsFor(w);
    const code = failed ? 500 : 200;
    this.metrics.requests.inc({ pool: w.pool, pod: w.name, status: String(code), version: v, model });
    this.metrics.duration.observe({ pool: w.pool, version: v }, (performance.now() - t0) / 1000);
    if (failed) {
      this.metrics.errors.inc({ pool: w.pool, pod: w.name, version: v });
      return finish(500, { error: "worker internal error (simulated fault)", fault: w.fault, worker: w.name }, w.pool, v, workerHeaders);
    }
    const items = payload.items.map((it) => ({ dense: embed(String(it?.text ?? ""), spec.dims) }));
    finish(200, { model, items }, w.pool, v, workerHeaders);
  }

  /** Whether this request fails on a pod because of its `-5xx` or `-errors10` fault. */
  private failsFor(p: SiePod): boolean {
    if (p.fault === "5xx") return true;
    if (p.fault !== "errors10") return false;
    const n = (this.served.get(p.pod.metadata.uid) ?? 0) + 1;
    this.served.set(p.pod.metadata.uid, n);
    return n % Math.round(1 / ERRORS10_RATE) === 0;
  }
}
