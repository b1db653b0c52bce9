// P9: what reaching SIE through the API server's service proxy costs the gates. The same requests
// go to the bench cluster's SIE endpoint server once directly on loopback (global fetch, what the
// gates did before) and once through `<apiserver>/api/v1/namespaces/<ns>/services/<svc>:http/proxy`
// with the stack's kubeconfig (kubeFetch, what they do now: the API server authenticates and
// authorizes the request, then dials the pod through its egress socket, which the endpoint server
// answers). Then one whole gate, the final verification's HTTP checks, over each path.
// `--runs N`: timed requests per kind and path (default 200, `--quick` 20).
import * as os from "node:os";
import { loadStackContext } from "../automation/actions/context.js";
import { finalVerification } from "../automation/actions/upgrade/verification.js";
import { type HttpFetch, serviceProxyUrl } from "../automation/kube/apiProxy.js";
import { listModels } from "../automation/verify/endpoints.js";
import type { VerifyCheckName } from "../automation/verify/index.js";
import { sieService } from "../core/workloads.js";
import { configPath, gatewayPath } from "../cluster/endpoints/index.js";
import type { GateResult } from "../core/types.js";
import { STACK, benchStack } from "./fixture.js";
import { mean, median, percentile, table } from "./report.js";
import type { Benchmark } from "./types.js";

const PATHS = ["loopback", "proxy"] as const;
type PathName = (typeof PATHS)[number];
const PATH_LABEL: Record<PathName, string> = {
  loopback: "endpoint server on loopback (fetch)",
  proxy: "API server service proxy (kubeFetch)",
};

interface Route {
  get: HttpFetch;
  gateway: string;
  config: string;
}

interface Kind {
  key: string;
  label: string;
  url(r: Route, model: string): string;
  init?: RequestInit;
}

const KINDS: Kind[] = [
  { key: "gateway-readyz", label: "gateway GET /readyz", url: (r) => `${r.gateway}/readyz` },
  {
    key: "gateway-encode",
    label: "gateway POST /v1/encode/<model>",
    url: (r, model) => `${r.gateway}/v1/encode/${encodeURIComponent(model)}`,
    init: { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ items: [{ text: "bench" }] }) },
  },
  { key: "config-healthz", label: "config GET /healthz", url: (r) => `${r.config}/healthz` },
];

/** The final verification's HTTP checks: what one gate over SIE's Services is. */
const GATE_CHECKS: readonly VerifyCheckName[] = ["gateway-readyz", "gateway-models", "config-healthz", "encode-smoke"];

interface Stats {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
}

interface GateRun {
  ms: number;
  results: GateResult[];
}

const stats = (xs: number[]): Stats => ({ p50Ms: median(xs), p95Ms: percentile(xs, 95), meanMs: mean(xs) });
const ms2 = (x: number) => x.toFixed(2);
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const loadNow = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** One request, its whole body read (as every gate reads it); anything but 200 ends the benchmark. */
async function timed(get: HttpFetch, url: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now();
  const r = await get(url, init);
  const text = await r.text();
  const elapsed = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${init?.method ?? "GET"} ${url} → HTTP ${r.status}: ${text.slice(0, 200)}`);
  return elapsed;
}

/**
 * Waits until both paths answer every kind with 200 (the endpoint server and the Service's
 * endpoints follow the pods with a short lag) and returns the first model the gateway lists.
 */
async function settle(routes: Record<PathName, Route>, timeoutMs = 60_000): Promise<string> {
  const t0 = performance.now();
  let last = "";
  while (performance.now() - t0 < timeoutMs) {
    const l = await listModels(routes.loopback.get, routes.loopback.gateway, AbortSignal.timeout(10_000));
    const model = "models" in l ? l.models[0] : undefined;
    if (model) {
      try {
        for (const k of KINDS) for (const p of PATHS) await timed(routes[p].get, k.url(routes[p], model), k.init);
        return model;
      } catch (err) {
        last = (err as Error).message;
      }
    } else last = "models" in l ? `GET ${l.url} listed no model` : l.message;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`SIE did not answer on both paths within ${timeoutMs / 1000} s: ${last}`);
}

export const p9: Benchmark = {
  name: "p9-gate-latency",
  title: "P9 gate latency through the API server vs loopback",
  async run({ runs, quick, log }) {
    const n = runs ?? (quick ? 20 : 200);
    const warmup = quick ? 5 : 20;
    const s = await benchStack({ log });
    try {
      if (!s.endpointsUrl) throw new Error("the bench cluster runs no SIE endpoint server, so there is no loopback path to compare with");
      await s.waitAllReady();
      // The stack as the engine loads it: its names, its kubeconfig's client, its gate settings.
      const sc = await loadStackContext({ stack: STACK, projectDir: s.dir, stateDir: s.stateDir, env: s.env });
      const ns = sc.names.namespace;
      const routes: Record<PathName, Route> = {
        loopback: { get: fetch, gateway: `${s.endpointsUrl}${gatewayPath(ns)}`, config: `${s.endpointsUrl}${configPath(ns)}` },
        proxy: {
          get: sc.kube.http,
          gateway: serviceProxyUrl(sc.kube.server, sieService(sc.names, "gateway")),
          config: serviceProxyUrl(sc.kube.server, sieService(sc.names, "config")),
        },
      };
      const model = await settle(routes);
      const loadStart = loadNow();
      log(`P9: ${n} requests per kind and path after ${warmup} warm-up, model ${model}; load average ${loadStart.join(" ")}`);

      // Sequential, the two paths interleaved and taking turns to go first, so a drift in the
      // machine's load weighs on both alike.
      const samples: Record<string, Record<PathName, number[]>> = {};
      for (const k of KINDS) {
        const got: Record<PathName, number[]> = { loopback: [], proxy: [] };
        for (let i = 0; i < warmup + n; i++) {
          for (const p of i % 2 ? (["proxy", "loopback"] as const) : PATHS) {
            const t = await timed(routes[p].get, k.url(routes[p], model), k.init);
            if (i >= warmup) got[p].push(t);
          }
        }
        samples[k.key] = got;
        log(`P9 ${k.label}: p50 loopback ${ms2(median(got.loopback))} ms, proxy ${ms2(median(got.proxy))} ms`);
      }

      // One whole gate per path: runVerification's final phase with only the HTTP checks. On
      // loopback URLs kube.http is plain fetch (they are not the API server's).
      const gate = {} as Record<PathName, GateRun>;
      for (const p of PATHS) {
        const t0 = performance.now();
        const results = await finalVerification({ ...sc, gatewayUrl: routes[p].gateway, configUrl: routes[p].config }, sc.imageTag, undefined, GATE_CHECKS);
        gate[p] = { ms: performance.now() - t0, results };
        const bad = results.filter((r) => r.status !== "pass");
        if (bad.length) throw new Error(`the gate over ${PATH_LABEL[p]} did not pass: ${bad.map((r) => `${r.name} ${r.status}: ${r.message}`).join("; ")}`);
        log(`P9 gate over ${p}: ${ms2(gate[p].ms)} ms`);
      }
      const loadEnd = loadNow();

      const perKind = Object.fromEntries(
        KINDS.map((k) => {
          const got = samples[k.key]!;
          const lo = stats(got.loopback);
          const px = stats(got.proxy);
          return [
            k.key,
            {
              label: k.label,
              loopback: { ...lo, samplesMs: got.loopback.map(round3) },
              proxy: { ...px, samplesMs: got.proxy.map(round3) },
              ratioP50: px.p50Ms / lo.p50Ms,
              ratioMean: px.meanMs / lo.meanMs,
            },
          ];
        }),
      );
      const requestRows = KINDS.flatMap((k) => {
        const r = perKind[k.key]!;
        return PATHS.map((p) => [
          k.label,
          PATH_LABEL[p],
          ms2(r[p].p50Ms),
          ms2(r[p].p95Ms),
          ms2(r[p].meanMs),
          p === "proxy" ? `${r.ratioP50.toFixed(2)}×, ${r.ratioMean.toFixed(2)}×` : "",
        ]);
      });
      const gateRatio = gate.proxy.ms / gate.loopback.ms;
      const gateRows = PATHS.map((p) => [
        PATH_LABEL[p],
        ms2(gate[p].ms),
        gate[p].results.map((r) => `${r.name} ${r.durationMs.toFixed(0)}`).join(", "),
        p === "proxy" ? `${gateRatio.toFixed(2)}×` : "",
      ]);
      return {
        tables: [
          table(
            `${this.title}: ${n} sequential requests per kind and path after ${warmup} warm-up (paths interleaved), model ${model}`,
            ["request", "path", "p50 ms", "p95 ms", "mean ms", "proxy / loopback (p50, mean)"],
            requestRows,
          ),
          table(
            `P9 one gate: runVerification, final phase, checks ${GATE_CHECKS.join(", ")}`,
            ["path", "wall ms", "per check (ms)", "proxy / loopback"],
            gateRows,
          ),
          `(load average 1/5/15 min at the start of the measurements: ${loadStart.join(" / ")}; at the end: ${loadEnd.join(" / ")})`,
        ],
        json: {
          requests: n,
          warmup,
          model,
          urls: Object.fromEntries(PATHS.map((p) => [p, { gateway: routes[p].gateway, config: routes[p].config }])),
          perKind,
          gate: {
            checks: GATE_CHECKS,
            ...Object.fromEntries(
              PATHS.map((p) => [p, { ms: gate[p].ms, results: gate[p].results.map((r) => ({ name: r.name, status: r.status, durationMs: r.durationMs })) }]),
            ),
            ratio: gateRatio,
          },
          loadavg: { start: loadStart, end: loadEnd },
        },
      };
    } finally {
      await s.stop();
    }
  },
};
