/**
 * The SIE metrics the gateways and workers of every namespace would expose, in one Registry. Each
 * series carries `namespace` (what Prometheus Operator attaches from the target, and what the
 * engine's queries select on), so one scrape of the server covers every release.
 *
 * `version` is the version of the component that served the request (the worker's for encodes),
 * so `sum by (version) (rate(sie_gateway_requests_total{namespace="sie",pool="l4",status=~"5.."}[1m]))`
 * and the `sie_gateway_request_duration_seconds` histogram give a canary pool's error ratio and
 * p95 per version (automation/verify/metricGates.ts).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Buckets wide enough to separate a healthy encode (ms) from a `-slow` one (~1.5 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10];

export interface PoolInfo {
  namespace: string;
  pool: string;
  machine_profile: string;
  bundle: string;
}

export interface MetricsSample {
  queueDepth(): Map<PoolInfo, number>;
  pendingDemand(): Map<PoolInfo, number>;
  workers(): { namespace: string; pool: string; version: string; ready: boolean }[];
  namespaces(): string[];
}

/** Labels in a fixed order, so scraped series read the same every time. */
function poolLabels(p: PoolInfo): PoolInfo {
  return { namespace: p.namespace, machine_profile: p.machine_profile, bundle: p.bundle, pool: p.pool };
}

export class EndpointMetrics {
  readonly registry = new Registry();
  /** The counters and histograms with their label names: the series forgetGone() walks. */
  private readonly kept: { metric: Counter<string> | Histogram<string>; labelNames: readonly string[] }[] = [];
  /** The namespaces forgetGone() last kept, joined. */
  private liveKey = "";

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const metric = new Counter({ name, help, labelNames, registers: [this.registry] });
    this.kept.push({ metric: metric as Counter<string>, labelNames });
    return metric;
  }

  /** Request latency, in the buckets the metric gates' p95 is computed from. */
  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
    const metric = new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [this.registry] });
    this.kept.push({ metric: metric as Histogram<string>, labelNames });
    return metric;
  }

  readonly gatewayRequests = this.counter("sie_gateway_requests_total", "Requests handled by the gateway, by target pool, HTTP status and serving version", [
    "namespace",
    "pool",
    "status",
    "version",
    "model",
    "endpoint",
  ]);
  readonly gatewayErrors = this.counter("sie_gateway_request_errors_total", "Gateway requests that ended in a 5xx, by pool and serving version", [
    "namespace",
    "pool",
    "status",
    "version",
  ]);
  readonly gatewayDuration = this.histogram("sie_gateway_request_duration_seconds", "Gateway request latency, by pool and serving version", [
    "namespace",
    "pool",
    "version",
  ]);
  readonly requests = this.counter("sie_requests_total", "Requests handled by workers, by pool, pod, status and worker version", [
    "namespace",
    "pool",
    "pod",
    "status",
    "version",
    "model",
  ]);
  readonly errors = this.counter("sie_request_errors_total", "Worker requests that failed, by pool, pod and worker version", [
    "namespace",
    "pool",
    "pod",
    "version",
  ]);
  readonly duration = this.histogram("sie_request_duration_seconds", "Worker request latency, by pool and worker version", ["namespace", "pool", "version"]);
  readonly rejected = this.counter("sie_gateway_rejected_requests_total", "Requests the gateway rejected or deferred, by reason", [
    "namespace",
    "reason",
    "pool",
  ]);

  constructor(private readonly sample: MetricsSample) {
    const perPool = ["namespace", "machine_profile", "bundle", "pool"] as const;
    this.gauge("sie_gateway_worker_queue_depth", "In-flight requests queued on workers, per pool", perPool, (set) => {
      for (const [p, v] of sample.queueDepth()) set(poolLabels(p), v);
    });
    this.gauge("sie_gateway_pending_demand", "Recent requests that found no ready worker (cold-start demand), per pool", perPool, (set) => {
      for (const [p, v] of sample.pendingDemand()) set(poolLabels(p), v);
    });
    this.gauge("sie_gateway_active_lease_gpus", "GPUs held by active resource-pool leases (none: leases are not imitated)", ["namespace"], (set) => {
      for (const namespace of sample.namespaces()) set({ namespace }, 0);
    });
    this.gauge("sie_gateway_workers", "Worker pods known to the gateway, by pool, version and readiness", ["namespace", "pool", "version", "ready"], (set) => {
      const counts = new Map<string, number>();
      for (const w of sample.workers()) {
        const k = JSON.stringify([w.namespace, w.pool, w.version, String(w.ready)]);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const [k, n] of counts) {
        const [namespace, pool, version, ready] = JSON.parse(k) as [string, string, string, string];
        set({ namespace, pool, version, ready }, n);
      }
    });
  }

  /** A gauge computed at each scrape: `fill` sets the current values after a reset. */
  private gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void) => void,
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels as Partial<Record<L, string | number>>, value));
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every namespace's series. */
  async render(): Promise<string> {
    await this.forgetGone();
    return this.registry.metrics();
  }

  /**
   * One namespace's series only, as that release's gateway would serve them: what a per-release
   * scrape target (with its own `namespace` target label, hence its own `up`) reads.
   */
  async renderNamespace(namespace: string): Promise<string> {
    await this.forgetGone();
    const mine = `namespace="${namespace}"`;
    const lines = (await this.registry.metrics()).split("\n");
    return lines.filter((l) => l.startsWith("#") || l === "" || l.includes(`{${mine}`) || l.includes(`,${mine}`)).join("\n");
  }

  /**
   * Drops the series of namespaces no longer in the cluster, as a deleted release's gateway takes
   * its metrics with it (Prometheus keeps what it scraped). Without it every release the server
   * ever saw stays in the registry, and every scrape, which renders all of it, slows down with
   * each namespace a long-lived cluster (the test lanes' shared one) has seen.
   */
  private async forgetGone(): Promise<void> {
    const live = new Set(this.sample.namespaces());
    const key = [...live].sort().join(" ");
    if (key === this.liveKey) return;
    this.liveKey = key;
    for (const { metric, labelNames } of this.kept) {
      for (const { labels } of (await metric.get()).values) {
        const ns = labels["namespace"];
        if (ns === undefined || live.has(String(ns))) continue;
        // A histogram lists each series once per bucket (with `le`); removing it again is a no-op.
        metric.remove(Object.fromEntries(labelNames.filter((l) => labels[l] !== undefined).map((l) => [l, labels[l]!])));
      }
    }
  }
}
