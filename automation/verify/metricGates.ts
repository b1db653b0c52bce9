// Metric gates for the pools of a wave: the canary's error ratio and p95 latency, measured every
// `intervalSeconds` over `observationWindowSeconds` (an AnalysisTemplate with count = window /
// interval), judged against absolute thresholds and, with a Mann-Whitney U test, against the
// same pool's samples from before the upgrade (captureBaseline). Canary samples are filtered on
// the new `version` label, so old pods still draining do not dilute them.
import { CONSECUTIVE_ERROR_LIMIT } from "../../core/defaults.js";
import { assess, emptyResult, evaluateValue, gateStatusOf, record, type Measurement, type MetricResult, type MetricSpec } from "./analysis.js";
import { serverVersion } from "./endpoints.js";
import { mannWhitneyU, median } from "./mannWhitney.js";
import { type PrometheusClient, promString } from "./prometheus.js";
import { rateWindowSeconds } from "./promChecks.js";
import { sleep } from "./sleep.js";
import type { Check, CheckOutcome, GatesConfig, GatesInput, PoolBaseline, VerifyContext } from "./types.js";
import { rolloutSchema } from "../../infra/config/configSchema.js";

export type MetricKind = "error-ratio" | "p95-latency";

export function resolveGates(gates: GatesInput | GatesConfig | undefined): GatesConfig {
  return rolloutSchema.shape.gates.parse(gates ?? {});
}

/** PromQL for one pool (and version, for the canary): errors, total, p95 (seconds). */
export function metricQueries(
  namespace: string,
  pool: string,
  version: string | undefined,
  rangeSeconds: number,
): { errors: string; total: string; p95: string } {
  const sel = [`namespace=${promString(namespace)}`, `pool=${promString(pool)}`, ...(version ? [`version=${promString(version)}`] : [])].join(",");
  const r = `[${rangeSeconds}s]`;
  return {
    errors: `sum(increase(sie_gateway_requests_total{${sel},status=~"5.."}${r}))`,
    total: `sum(increase(sie_gateway_requests_total{${sel}}${r}))`,
    p95: `histogram_quantile(0.95, sum by (le) (rate(sie_gateway_request_duration_seconds_bucket{${sel}}${r})))`,
  };
}

/**
 * Each pool's error ratio and p95 over the observation window ending at `end`, read before the
 * release is applied. Never throws: a query that fails leaves that pool's samples empty with
 * `error` set.
 */
export async function capturePoolBaselines(
  prom: PrometheusClient,
  gates: GatesConfig,
  namespace: string,
  pools: readonly string[],
  end: number,
  signal?: AbortSignal,
): Promise<Record<string, PoolBaseline>> {
  const start = end - gates.observationWindowSeconds * 1000;
  const range = rateWindowSeconds(gates);
  const out: Record<string, PoolBaseline> = {};
  await Promise.all(
    pools.map(async (pool) => {
      const q = metricQueries(namespace, pool, undefined, range);
      const [errors, total, p95] = await Promise.all(
        [q.errors, q.total, q.p95].map((query) => prom.queryRange(query, start, end, gates.intervalSeconds, signal)),
      );
      const failed = [errors, total, p95].find((m) => m!.phase === "Error");
      const at = (m: Measurement<{ points: [number, number][] }[]> | undefined): Map<number, number> => new Map(m?.value?.[0]?.points ?? []);
      const e = at(errors);
      const p = at(p95);
      const b: PoolBaseline = { errorRatio: [], p95Ms: [], requests: 0, ...(failed ? { error: failed.message ?? "query failed" } : {}) };
      for (const [t, n] of at(total)) {
        if (!Number.isFinite(n)) continue;
        b.requests += n;
        // Too few requests in a step says nothing about the pool; skip it as the canary would.
        if (n < gates.minRequests || n <= 0) continue;
        b.errorRatio.push((e.get(t) ?? 0) / n);
        const lat = p.get(t);
        if (lat !== undefined && Number.isFinite(lat)) b.p95Ms.push(lat * 1000);
      }
      out[pool] = b;
    }),
  );
  return out;
}

/** The AnalysisTemplate-like spec of one metric, from the stack's gates config. */
export function metricSpec(kind: MetricKind, pool: string, gates: GatesConfig): MetricSpec {
  const count = Math.max(1, Math.ceil(gates.observationWindowSeconds / gates.intervalSeconds));
  return {
    name: `metric:${kind}:${pool}`,
    intervalMs: gates.intervalSeconds * 1000,
    count,
    // The first sample waits one rate window, so its rate() covers new-version traffic only
    // instead of the few seconds since the pods turned Ready.
    initialDelayMs: rateWindowSeconds(gates) * 1000,
    successCondition: kind === "error-ratio" ? { op: "<=", value: gates.maxErrorRatio } : { op: "<=", value: gates.maxP95LatencyMs },
    failureLimit: gates.failureLimit,
    // Samples without data are judged at the end of the window (too few → Inconclusive), not early.
    inconclusiveLimit: count,
    consecutiveErrorLimit: CONSECUTIVE_ERROR_LIMIT,
    // Half the window by default: enough data for a verdict, while one sample without data (a
    // scrape gap) cannot turn a clearly failing canary into an undecided warning.
    minSamples: Math.min(count, gates.minSamples ?? Math.max(1, Math.ceil(count / 2))),
  };
}

/** One canary sample: a Measurement with its phase already evaluated. */
async function measure(
  prom: PrometheusClient,
  kind: MetricKind,
  q: ReturnType<typeof metricQueries>,
  spec: MetricSpec,
  minRequests: number,
  signal?: AbortSignal,
): Promise<Measurement> {
  const startedAt = new Date().toISOString();
  const [total, errors, p95] = await Promise.all([
    prom.scalar(q.total, { signal }),
    kind === "error-ratio" ? prom.scalar(q.errors, { signal }) : undefined,
    kind === "p95-latency" ? prom.scalar(q.p95, { signal }) : undefined,
  ]);
  const failed = [total, errors, p95].find((m) => m?.phase === "Error");
  const finishedAt = new Date().toISOString();
  if (failed) return { phase: "Error", message: failed.message ?? "query failed", startedAt, finishedAt };
  const requests = total.value ?? 0;
  if (requests < Math.max(1, minRequests)) {
    return {
      phase: "Inconclusive",
      message: `only ${Math.round(requests)} request(s) in the rate window (minRequests ${minRequests})`,
      startedAt,
      finishedAt,
      detail: { requests },
    };
  }
  const value = kind === "error-ratio" ? (errors?.value ?? 0) / requests : p95?.value !== undefined ? p95.value * 1000 : undefined;
  const e = evaluateValue(value, spec);
  return {
    phase: e.phase,
    ...(value !== undefined && Number.isFinite(value) ? { value: round(value) } : {}),
    message: e.message,
    startedAt,
    finishedAt,
    detail: { requests: round(requests) },
  };
}

export interface ObserveOptions {
  signal?: AbortSignal;
  /** Called after each measurement (progress events). */
  onMeasurement?: (result: MetricResult) => void;
}

/**
 * Takes `spec.count` measurements `spec.intervalMs` apart (scheduled from the start, so slow
 * queries do not stretch the window), stopping early only on a decided Failed or Error.
 */
export async function observe(spec: MetricSpec, sample: (signal?: AbortSignal) => Promise<Measurement>, opts: ObserveOptions = {}): Promise<MetricResult> {
  let result = emptyResult(spec.name);
  const start = Date.now() + (spec.initialDelayMs ?? 0);
  for (let i = 0; i < spec.count; i++) {
    const wait = start + i * spec.intervalMs - Date.now();
    if (wait > 0) await sleep(wait, opts.signal);
    if (opts.signal?.aborted) break;
    result = record(result, await sample(opts.signal));
    opts.onMeasurement?.(result);
    const a = assess(result, spec);
    if (a.phase === "Failed" || a.phase === "Error") return { ...result, ...a };
  }
  return { ...result, ...assess(result, spec, true) };
}

export interface Comparison {
  status: "pass" | "fail" | "warn" | "skipped";
  message: string;
  baselineMedian?: number;
  canaryMedian?: number;
  u?: number;
  p?: number;
  n?: [number, number];
}

/** Kayenta-style: significantly worse (one-sided U test) AND worse by more than the tolerance. */
export function compareWithBaseline(kind: MetricKind, canary: readonly number[], baseline: readonly number[] | undefined, gates: GatesConfig): Comparison {
  const mw = gates.mannWhitney;
  if (!mw.enabled) return { status: "skipped", message: "relative comparison disabled" };
  if (!baseline) return { status: "skipped", message: "no baseline captured for this pool" };
  const MIN = 3;
  if (canary.length < MIN || baseline.length < MIN)
    return {
      status: "skipped",
      message: `too few samples to compare (canary ${canary.length}, baseline ${baseline.length}; need ${MIN} each)`,
      n: [canary.length, baseline.length],
    };
  const r = mannWhitneyU(canary, baseline, "greater");
  const cm = median(canary);
  const bm = median(baseline);
  const floor = kind === "error-ratio" ? mw.minErrorRatioDelta : mw.minLatencyDeltaMs;
  const allowed = Math.max(floor, bm * mw.tolerance);
  const worse = r.p < mw.alpha && cm - bm > allowed;
  const unit = kind === "error-ratio" ? "" : "ms";
  const base = { baselineMedian: round(bm), canaryMedian: round(cm), u: r.u, p: round(r.p), n: [canary.length, baseline.length] as [number, number] };
  if (!worse) return { status: "pass", message: `not worse than baseline (median ${round(cm)}${unit} vs ${round(bm)}${unit}, p=${round(r.p)})`, ...base };
  return {
    status: mw.enforce ? "fail" : "warn",
    message: `worse than baseline: median ${round(cm)}${unit} vs ${round(bm)}${unit} (+${round(cm - bm)}${unit} > ${round(allowed)}${unit} allowed), Mann-Whitney p=${round(r.p)} < ${mw.alpha}`,
    ...base,
  };
}

/** The metric gate checks of a pool wave: error ratio and p95 for each of its pools. */
export function metricGateChecks(ctx: VerifyContext, prom: PrometheusClient, pools: readonly string[]): Check[] {
  const version = serverVersion(ctx.expectTag);
  const range = rateWindowSeconds(ctx.gates);
  const kinds: MetricKind[] = ["error-ratio", "p95-latency"];
  return pools.flatMap((pool) =>
    kinds.map((kind): Check => {
      const spec = metricSpec(kind, pool, ctx.gates);
      const q = metricQueries(ctx.names.namespace, pool, version, range);
      return {
        name: spec.name,
        stage: 1,
        retries: 0,
        // The whole window plus slack for the last queries.
        timeoutMs: (spec.initialDelayMs ?? 0) + spec.count * spec.intervalMs + 2 * ctx.gates.checkTimeoutSeconds * 1000,
        async run(signal): Promise<CheckOutcome> {
          const result = await observe(spec, (s) => measure(prom, kind, q, spec, ctx.gates.minRequests, s), { signal });
          const samples = result.measurements.filter((m) => m.phase === "Successful" || m.phase === "Failed").map((m) => m.value!);
          const base = ctx.baseline?.pools[pool];
          const cmp = compareWithBaseline(kind, samples, kind === "error-ratio" ? base?.errorRatio : base?.p95Ms, ctx.gates);
          const absolute = gateStatusOf(result.phase);
          const status = absolute === "fail" || cmp.status === "fail" ? "fail" : absolute === "warn" || cmp.status === "warn" ? "warn" : "pass";
          const threshold = kind === "error-ratio" ? `error ratio <= ${ctx.gates.maxErrorRatio}` : `p95 <= ${ctx.gates.maxP95LatencyMs}ms`;
          return {
            status,
            message: `${pool} ${version}: ${result.phase} (${threshold}): ${result.message ?? ""}; baseline: ${cmp.message}`,
            evidence: {
              prometheusUrl: prom.baseUrl,
              query: kind === "error-ratio" ? `${q.errors} / ${q.total}` : q.p95,
              pool,
              version,
              phase: result.phase,
              counts: { count: result.count, successful: result.successful, failed: result.failed, inconclusive: result.inconclusive, error: result.error },
              spec: {
                initialDelaySeconds: (spec.initialDelayMs ?? 0) / 1000,
                intervalSeconds: ctx.gates.intervalSeconds,
                count: spec.count,
                minSamples: spec.minSamples,
                failureLimit: spec.failureLimit,
                successCondition: `result ${spec.successCondition.op} ${spec.successCondition.value}`,
              },
              samples: result.measurements.map((m) => ({
                phase: m.phase,
                ...(m.value !== undefined ? { value: m.value } : {}),
                ...(m.detail?.["requests"] !== undefined ? { requests: m.detail["requests"] } : {}),
                ...(m.phase !== "Successful" && m.message ? { message: m.message } : {}),
              })),
              baseline: {
                status: cmp.status,
                ...(cmp.baselineMedian !== undefined ? { median: cmp.baselineMedian, canaryMedian: cmp.canaryMedian!, u: cmp.u!, p: cmp.p!, n: cmp.n! } : {}),
                ...(base?.error ? { error: base.error } : {}),
              },
            },
          };
        },
      };
    }),
  );
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 10000) / 10000;
}
