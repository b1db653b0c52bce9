import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Buckets wide enough to separate a healthy encode (ms) from a `-slow` one (~1.5 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10];

export interface PoolInfo {
  pool: string;
  machine_profile: string;
  bundle: string;
}

/** Labels in a fixed order, so scraped series read the same every time. */
function poolLabels(p: PoolInfo): PoolInfo {
  return { machine_profile: p.machine_profile, bundle: p.bundle, pool: p.pool };
}

/**
 * The SIE metrics the gateway and workers expose, on a Registry per simulator instance.
 * `version` is the version of the component that served the request (the worker's for encodes),
 * so `sum by (version) (rate(sie_gateway_requests_total{pool="canary",status=~"5.."}[1m]))` and
 * `histogram_quantile(0.95, sum by (le, version) (rate(sie_gateway_request_duration_seconds_bucket{pool="canary"}[1m])))`
 * give a canary pool's error ratio and p95 per version.
 */
export class SimMetrics {
  readonly registry = new Registry();

  readonly gatewayRequests = new Counter({
    name: "sie_gateway_requests_total",
    help: "Requests handled by the gateway, by target pool, HTTP status and serving version",
    labelNames: ["pool", "status", "version", "model", "endpoint"] as const,
    registers: [this.registry],
  });
  readonly gatewayErrors = new Counter({
    name: "sie_gateway_request_errors_total",
    help: "Gateway requests that ended in a 5xx, by pool and serving version",
    labelNames: ["pool", "status", "version"] as const,
    registers: [this.registry],
  });
  readonly gatewayDuration = new Histogram({
    name: "sie_gateway_request_duration_seconds",
    help: "Gateway request latency, by pool and serving version",
    labelNames: ["pool", "version"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: "sie_requests_total",
    help: "Requests handled by workers, by pool, pod, status and worker version",
    labelNames: ["pool", "pod", "status", "version", "model"] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "sie_request_errors_total",
    help: "Worker requests that failed, by pool, pod and worker version",
    labelNames: ["pool", "pod", "version"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "sie_request_duration_seconds",
    help: "Worker request latency, by pool and worker version",
    labelNames: ["pool", "version"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "sie_gateway_rejected_requests_total",
    help: "Requests the gateway rejected or deferred, by reason",
    labelNames: ["reason", "pool"] as const,
    registers: [this.registry],
  });

  constructor(sample: {
    queueDepth(): Map<PoolInfo, number>;
    pendingDemand(): Map<PoolInfo, number>;
    workers(): { pool: string; version: string; ready: boolean }[];
    leaseGpus(): number;
  }) {
    new Gauge({
      name: "sie_gateway_worker_queue_depth",
      help: "In-flight requests queued on workers, per pool",
      labelNames: ["machine_profile", "bundle", "pool"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [p, v] of sample.queueDepth()) this.set(poolLabels(p), v);
      },
    });
    new Gauge({
      name: "sie_gateway_pending_demand",
      help: "Recent requests that found no ready worker (cold-start demand), per pool",
      labelNames: ["machine_profile", "bundle", "pool"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [p, v] of sample.pendingDemand()) this.set(poolLabels(p), v);
      },
    });
    new Gauge({
      name: "sie_gateway_active_lease_gpus",
      help: "GPUs held by active resource-pool leases",
      registers: [this.registry],
      collect() {
        this.set(sample.leaseGpus());
      },
    });
    new Gauge({
      name: "sie_gateway_workers",
      help: "Worker pods known to the gateway, by pool, version and readiness",
      labelNames: ["pool", "version", "ready"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const w of sample.workers()) {
          const k = JSON.stringify([w.pool, w.version, String(w.ready)]);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) {
          const [pool, version, ready] = JSON.parse(k) as [string, string, string];
          this.set({ pool, version, ready }, n);
        }
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
