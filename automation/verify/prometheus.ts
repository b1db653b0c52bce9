// A small Prometheus HTTP API client (instant and range queries, readiness). Like Argo's metric
// providers it never throws: a refused connection, an HTTP error or a query error comes back as
// a Measurement with phase "Error" and a message naming the URL and the query.
import { PROMETHEUS_TIMEOUT_MS } from "../../core/defaults.js";
import type { HttpFetch } from "../kube/apiProxy.js";
import type { Measurement } from "./analysis.js";

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromSeries {
  labels: Record<string, string>;
  /** [unix seconds, value] */
  points: [number, number][];
}

export interface PrometheusClientOptions {
  /** Per request (default PROMETHEUS_TIMEOUT_MS). */
  timeoutMs?: number;
  /** How requests are made: the stack's API-server fetch for an in-cluster Prometheus (default: fetch). */
  http?: HttpFetch;
}

type ApiBody = {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
};

export class PrometheusClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly http: HttpFetch;

  constructor(baseUrl: string, opts: PrometheusClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs ?? PROMETHEUS_TIMEOUT_MS;
    this.http = opts.http ?? fetch;
  }

  /** `/-/ready`: 200 once the TSDB is loaded. value = HTTP status. */
  async ready(signal?: AbortSignal): Promise<Measurement<number>> {
    const url = `${this.baseUrl}/-/ready`;
    const startedAt = new Date().toISOString();
    try {
      const r = await this.http(url, { signal: this.signal(signal) });
      await r.arrayBuffer();
      return {
        phase: r.ok ? "Successful" : "Failed",
        value: r.status,
        message: `GET ${url} → ${r.status}`,
        startedAt,
        finishedAt: new Date().toISOString(),
        detail: { url },
      };
    } catch (err) {
      return { phase: "Error", message: `GET ${url}: ${describe(err)}`, startedAt, finishedAt: new Date().toISOString(), detail: { url } };
    }
  }

  /** Instant query; value = the vector (a scalar comes back as one unlabelled sample). */
  async query(query: string, opts: { time?: number; signal?: AbortSignal } = {}): Promise<Measurement<PromSample[]>> {
    const params = new URLSearchParams({ query });
    if (opts.time !== undefined) params.set("time", String(opts.time / 1000));
    return this.call(
      "query",
      params,
      query,
      (data) => {
        if (data.resultType === "scalar" || data.resultType === "string") {
          const [, v] = data.result as [number, string];
          return [{ labels: {}, value: Number(v) }];
        }
        if (data.resultType !== "vector") throw new Error(`expected a vector, got ${data.resultType}`);
        return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ labels: s.metric, value: Number(s.value[1]) }));
      },
      opts.signal,
    );
  }

  /** Range query over [startMs, endMs] at stepSeconds; value = the series. */
  async queryRange(query: string, startMs: number, endMs: number, stepSeconds: number, signal?: AbortSignal): Promise<Measurement<PromSeries[]>> {
    const params = new URLSearchParams({ query, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepSeconds) });
    return this.call(
      "query_range",
      params,
      query,
      (data) => {
        if (data.resultType !== "matrix") throw new Error(`expected a matrix, got ${data.resultType}`);
        return (data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({
          labels: s.metric,
          points: s.values.map(([t, v]) => [t, Number(v)] as [number, number]),
        }));
      },
      signal,
    );
  }

  /**
   * The first sample's value, or undefined when the query returned nothing (no data is not an
   * error: an idle pool has no series). Phase Successful unless the query could not run.
   */
  async scalar(query: string, opts: { time?: number; signal?: AbortSignal } = {}): Promise<Measurement<number | undefined>> {
    const m = await this.query(query, opts);
    if (m.phase === "Error") return { ...m, value: undefined };
    return { ...m, value: m.value?.[0]?.value };
  }

  private signal(outer?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(this.timeoutMs);
    return outer ? AbortSignal.any([outer, t]) : t;
  }

  private async call<V>(
    endpoint: string,
    params: URLSearchParams,
    query: string,
    parse: (data: NonNullable<ApiBody["data"]>) => V,
    signal?: AbortSignal,
  ): Promise<Measurement<V>> {
    const url = `${this.baseUrl}/api/v1/${endpoint}`;
    const startedAt = new Date().toISOString();
    const detail = { url, query };
    const err = (message: string): Measurement<V> => ({ phase: "Error", message, startedAt, finishedAt: new Date().toISOString(), detail });
    let r: Response;
    try {
      // POST form: long PromQL stays out of URLs and logs.
      r = await this.http(url, { method: "POST", body: params, signal: this.signal(signal) });
    } catch (e) {
      return err(`Prometheus at ${this.baseUrl} did not answer: ${describe(e)}`);
    }
    let body: ApiBody;
    try {
      body = (await r.json()) as ApiBody;
    } catch {
      return err(`Prometheus ${endpoint} → HTTP ${r.status} with a body that is not JSON`);
    }
    if (!r.ok || body.status !== "success" || !body.data) {
      return err(`Prometheus ${endpoint} → HTTP ${r.status}: ${body.errorType ?? "error"}: ${body.error ?? "no data"} (query: ${query})`);
    }
    try {
      return { phase: "Successful", value: parse(body.data), startedAt, finishedAt: new Date().toISOString(), detail };
    } catch (e) {
      return err(`Prometheus ${endpoint}: ${(e as Error).message} (query: ${query})`);
    }
  }
}

/** fetch's errors hide the useful part (ECONNREFUSED) in `cause`. */
export function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `timed out or aborted (${e.message ?? e.name})`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e?.message ?? String(err)} (${cause})` : (e?.message ?? String(err));
}

/** PromQL string literal. */
export function promString(v: string): string {
  return JSON.stringify(v);
}
