// The picture of the release before it is applied, which the wave gates compare with: each pool's
// error ratio and p95 from Prometheus (the metric gates' Mann-Whitney comparison), and a sample of
// requests to the gateway and the config service (the p95 bound of their sample gates). The
// Baseline's shape is in types.ts, next to the VerifyContext that carries it to the checks.
import type { HttpFetch } from "../kube/apiProxy.js";
import { phaseChecks } from "./checks.js";
import { captureEndpointBaseline } from "./endpointSample.js";
import { capturePoolBaselines, resolveGates } from "./metricGates.js";
import { PrometheusClient } from "./prometheus.js";
import { rateWindowSeconds } from "./promChecks.js";
import type { Baseline, GatesConfig, GatesInput, SampledComponent } from "./types.js";

export interface CaptureBaselineOptions {
  prometheusUrl?: string;
  gates?: GatesInput | GatesConfig;
  namespace: string;
  pools: readonly string[];
  gatewayUrl?: string;
  configUrl?: string;
  /** How the URLs are fetched: the stack's API-server fetch (KubeClient.http), which also fetches override URLs. */
  http: HttpFetch;
  signal?: AbortSignal;
  /** End of the pools' window (default now). */
  now?: number;
}

/**
 * Call it before the release is applied. Never throws: a pool whose query fails has `error` set,
 * a component that does not answer has `error` instead of a p95. Undefined when there is nothing
 * to capture (no Prometheus, no sample gate with a URL).
 */
export async function captureBaseline(opts: CaptureBaselineOptions): Promise<Baseline | undefined> {
  const gates = resolveGates(opts.gates);
  const url = opts.prometheusUrl ?? gates.prometheusUrl;
  const waveChecks = phaseChecks(gates, "wave");
  // Only what a wave will compare with: a sample nobody reads would only add requests.
  const sampled = (
    [
      ["gateway", opts.gatewayUrl],
      ["config", opts.configUrl],
    ] as const
  ).filter((e): e is readonly [SampledComponent, string] => e[1] !== undefined && waveChecks.includes(`${e[0]}-sample`));
  if (!url && sampled.length === 0) return undefined;
  const end = opts.now ?? Date.now();
  const { http } = opts;
  const [pools, endpoints] = await Promise.all([
    url
      ? capturePoolBaselines(
          new PrometheusClient(url, { timeoutMs: gates.checkTimeoutSeconds * 1000, http }),
          gates,
          opts.namespace,
          opts.pools,
          end,
          opts.signal,
        )
      : {},
    Promise.all(sampled.map(async ([c, u]) => [c, await captureEndpointBaseline(http, c, u, gates, opts.signal)] as const)),
  ]);
  return {
    capturedAt: new Date(end).toISOString(),
    ...(url ? { prometheusUrl: url } : {}),
    namespace: opts.namespace,
    windowSeconds: gates.observationWindowSeconds,
    intervalSeconds: gates.intervalSeconds,
    rateWindowSeconds: rateWindowSeconds(gates),
    pools,
    ...(endpoints.length > 0 ? { endpoints: Object.fromEntries(endpoints) } : {}),
  };
}
