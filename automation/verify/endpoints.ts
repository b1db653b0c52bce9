// SIE HTTP checks: gateway /readyz, /health, /v1/models, config /healthz, and an encode smoke test
// whose X-SIE-Server-Version must be the target. Each returns the URL, the HTTP status and the
// values it judged as evidence. A 503 or an empty model list is "pending" (the gateway may still
// be catching up with a rollout); a 5xx on an encode is a definite fail.
import type { V1StatefulSet } from "@kubernetes/client-node";
import { SMOKE_REQUESTS } from "../../core/defaults.js";
import { CHART_LABELS } from "../../core/workloads.js";
import type { HttpFetch } from "../kube/apiProxy.js";
import { describe } from "./prometheus.js";
import { allPoolsUpgraded, poolsInScope } from "./scope.js";
import type { Check, CheckOutcome, VerifyCheckName, VerifyContext } from "./types.js";

/** "v0.3.2-errors10" → "0.3.2-errors10": what SIE reports in X-SIE-Server-Version for a tag. */
export function serverVersion(tag: string): string {
  return tag.replace(/^v/, "");
}

export interface HttpReply {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

async function http(get: HttpFetch, url: string, signal: AbortSignal, init: RequestInit = {}): Promise<HttpReply | CheckOutcome> {
  try {
    const r = await get(url, { ...init, signal });
    const text = await r.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: r.status, body, text, headers: r.headers };
  } catch (err) {
    return { status: "fail", retryable: true, message: `${init.method ?? "GET"} ${url}: ${describe(err)}`, evidence: { url } };
  }
}

const isReply = (r: HttpReply | CheckOutcome): r is HttpReply => typeof r.status === "number";
export const base = (u: string): string => u.replace(/\/+$/, "");

/**
 * A probe endpoint: 200 passes, 503 is still coming up (retried), any other answer fails.
 * `describe` adds evidence from the reply and, on a pass, words for the message.
 */
function probeCheck(
  get: HttpFetch,
  name: VerifyCheckName,
  url: string,
  label: string,
  describe: (r: HttpReply) => { evidence: Record<string, unknown>; note?: string },
): Check {
  return {
    name,
    async run(signal) {
      const r = await http(get, url, signal);
      if (!isReply(r)) return r;
      const d = describe(r);
      const evidence = { url, status: r.status, ...d.evidence };
      if (r.status === 200) return { status: "pass", message: `GET ${label} → 200${d.note ? ` ${d.note}` : ""}`, evidence };
      return { status: r.status === 503 ? "pending" : "fail", retryable: r.status >= 500, message: `GET ${label} → ${r.status}`, evidence };
    },
  };
}

export function gatewayReadyzCheck(get: HttpFetch, gatewayUrl: string): Check {
  return probeCheck(get, "gateway-readyz", `${base(gatewayUrl)}/readyz`, "/readyz", (r) => ({ evidence: { body: r.text.slice(0, 200) } }));
}

export function configHealthzCheck(get: HttpFetch, configUrl: string): Check {
  return probeCheck(get, "config-healthz", `${base(configUrl)}/healthz`, "config /healthz", (r) => {
    const status = (r.body as { status?: unknown } | undefined)?.status;
    return typeof status === "string" ? { evidence: { bodyStatus: status }, note: status } : { evidence: {} };
  });
}

/** GET /v1/models: the reply and the model names in it, or the outcome of a request that failed. */
export async function listModels(
  get: HttpFetch,
  gatewayUrl: string,
  signal: AbortSignal,
): Promise<{ url: string; reply: HttpReply; models: string[] } | CheckOutcome> {
  const url = `${base(gatewayUrl)}/v1/models`;
  const reply = await http(get, url, signal);
  return isReply(reply) ? { url, reply, models: modelNames(reply.body) } : reply;
}

export function gatewayModelsCheck(get: HttpFetch, gatewayUrl: string): Check {
  return {
    name: "gateway-models",
    async run(signal) {
      const l = await listModels(get, gatewayUrl, signal);
      if (!("models" in l)) return l;
      const evidence = { url: l.url, status: l.reply.status, models: l.models };
      if (l.reply.status !== 200) return { status: "pending", message: `GET /v1/models → ${l.reply.status}`, evidence };
      if (l.models.length === 0) return { status: "pending", message: "GET /v1/models returned no model (no Ready worker has loaded one)", evidence };
      return { status: "pass", message: `${l.models.length} model(s): ${l.models.join(", ")}`, evidence };
    },
  };
}

/** SIE's `{models:[{name}]}`, or the OpenAI shapes `{data:[{id}]}` / `[{id}]`. */
function modelNames(body: unknown): string[] {
  if (Array.isArray(body)) return body.map((m: { id?: string }) => m.id ?? "").filter(Boolean);
  const b = body as { models?: { name?: string }[]; data?: { id?: string }[] } | undefined;
  return (b?.models?.map((m) => m.name ?? "") ?? b?.data?.map((m) => m.id ?? "") ?? []).filter(Boolean);
}

interface PoolFacts {
  desired: number;
  gpuTypes: string[];
}

/** Desired workers and GPU types of pools that are not scaled to zero, from the StatefulSets. */
async function poolFacts(ctx: VerifyContext): Promise<PoolFacts> {
  const sets: V1StatefulSet[] = await Promise.all(Object.values(ctx.names.statefulSets).map((n) => ctx.kube.api.getStatefulSet(ctx.names.namespace, n)));
  const live = sets.filter((s) => (s.spec?.replicas ?? 1) > 0);
  const gpuTypes = [...new Set(live.map((s) => s.spec?.template?.metadata?.labels?.[CHART_LABELS.gpuType]).filter((g): g is string => !!g))].sort();
  return { desired: live.reduce((n, s) => n + (s.spec?.replicas ?? 1), 0), gpuTypes };
}

export function gatewayHealthCheck(ctx: VerifyContext, gatewayUrl: string): Check {
  return {
    name: "gateway-health",
    async run(signal) {
      const url = `${base(gatewayUrl)}/health`;
      const [r, facts] = await Promise.all([http(ctx.kube.http, url, signal), poolFacts(ctx)]);
      if (!isReply(r)) return r;
      const h = (r.body ?? {}) as { status?: string; cluster?: { worker_count?: number }; live_gpu_types?: string[]; configured_gpu_types?: string[] };
      const workerCount = h.cluster?.worker_count ?? 0;
      const live = h.live_gpu_types ?? [];
      const missingGpus = facts.gpuTypes.filter((g) => !live.includes(g));
      const evidence = {
        url,
        status: r.status,
        healthStatus: h.status ?? null,
        workerCount,
        desiredWorkers: facts.desired,
        expectedGpuTypes: facts.gpuTypes,
        liveGpuTypes: live,
        configuredGpuTypes: h.configured_gpu_types ?? [],
      };
      if (r.status !== 200) return { status: "pending", message: `GET /health → ${r.status}`, evidence };
      if (facts.desired === 0) {
        return { status: "pass", message: `every pool is scaled to zero; gateway reports ${h.status ?? "?"} with ${workerCount} worker(s)`, evidence };
      }
      const problems: string[] = [];
      if (h.status !== "healthy") problems.push(`status is ${h.status ?? "missing"}, expected healthy`);
      if (workerCount < facts.desired) problems.push(`${workerCount} of ${facts.desired} desired workers registered`);
      if (missingGpus.length > 0) problems.push(`GPU types ${missingGpus.join(", ")} not live (live: ${live.join(", ") || "none"})`);
      if (problems.length === 0) return { status: "pass", message: `healthy, ${workerCount} worker(s), GPU types ${live.join(", ")}`, evidence };
      return { status: "pending", message: problems.join("; "), evidence };
    },
  };
}

/**
 * Encodes through the gateway. In a pool wave the requests are pinned to each of the wave's pools
 * (`X-SIE-Pool`), so the version header is the canary's and not whichever pool round-robin hit.
 */
export function encodeSmokeCheck(ctx: VerifyContext, gatewayUrl: string): Check {
  const expected = serverVersion(ctx.expectTag);
  const expectedGateway = serverVersion(ctx.componentTags?.gateway ?? ctx.expectTag);
  const pinned = ctx.phase === "wave" && ctx.wave?.kind === "pool" ? poolsInScope(ctx) : [undefined];
  const requests = ctx.smokeRequests ?? SMOKE_REQUESTS;
  return {
    name: "encode-smoke",
    async run(signal) {
      const l = await listModels(ctx.kube.http, gatewayUrl, signal);
      if (!("models" in l)) return l;
      const model = l.models[0];
      if (!model) return { status: "pending", message: "GET /v1/models returned no model to encode with", evidence: { url: l.url, status: l.reply.status } };
      const url = `${base(gatewayUrl)}/v1/encode/${encodeURIComponent(model)}`;
      const perPool: Record<string, { statuses: number[]; versions: string[]; gatewayVersions: string[] }> = {};
      // A pool scaled to zero answers 202 (cold start) by design; nothing to smoke-test there.
      const scaledToZero: string[] = [];
      for (const pool of pinned) {
        if (pool !== undefined) {
          const sts = await ctx.kube.api.getStatefulSet(ctx.names.namespace, ctx.names.statefulSets[pool]!);
          if ((sts.spec?.replicas ?? 1) === 0) {
            scaledToZero.push(pool);
            continue;
          }
        }
        const key = pool ?? "*";
        const seen = { statuses: [] as number[], versions: new Set<string>(), gatewayVersions: new Set<string>() };
        for (let i = 0; i < requests; i++) {
          const r = await http(ctx.kube.http, url, signal, {
            method: "POST",
            headers: { "content-type": "application/json", ...(pool ? { "x-sie-pool": pool } : {}) },
            body: JSON.stringify({ items: [{ text: "sie-fleet verification" }] }),
          });
          if (!isReply(r)) return { ...r, evidence: { ...r.evidence, model, ...(pool ? { pool } : {}) } };
          seen.statuses.push(r.status);
          const v = r.headers.get("x-sie-server-version");
          if (v && r.status === 200) seen.versions.add(v);
          const gv = r.headers.get("x-sie-gateway-version");
          if (gv) seen.gatewayVersions.add(gv);
        }
        perPool[key] = { statuses: seen.statuses, versions: [...seen.versions], gatewayVersions: [...seen.gatewayVersions] };
      }
      const verdict = judgeEncode(perPool, { url, model, expected, expectedGateway, checkGateway: allPoolsUpgraded(ctx) });
      return scaledToZero.length > 0 ? { ...verdict, evidence: { ...verdict.evidence, scaledToZero } } : verdict;
    },
  };
}

function judgeEncode(
  perPool: Record<string, { statuses: number[]; versions: string[]; gatewayVersions: string[] }>,
  o: { url: string; model: string; expected: string; expectedGateway: string; checkGateway: boolean },
): CheckOutcome {
  const evidence = { url: o.url, model: o.model, expectedVersion: o.expected, pools: perPool };
  const where = (pool: string): string => (pool === "*" ? "" : ` (pool ${pool})`);
  for (const [pool, s] of Object.entries(perPool)) {
    const errors = s.statuses.filter((c) => c >= 500);
    if (errors.length > 0) {
      return {
        status: "fail",
        message: `POST encode${where(pool)}: ${errors.length}/${s.statuses.length} requests failed (${[...new Set(errors)].join(", ")})`,
        evidence,
      };
    }
  }
  for (const [pool, s] of Object.entries(perPool)) {
    const notOk = s.statuses.filter((c) => c !== 200);
    if (notOk.length > 0)
      return {
        status: "pending",
        message: `POST encode${where(pool)}: ${notOk.length}/${s.statuses.length} not served (${[...new Set(notOk)].join(", ")})`,
        evidence,
      };
    const wrong = s.versions.filter((v) => v !== o.expected);
    if (s.versions.length === 0) return { status: "fail", message: `POST encode${where(pool)}: no X-SIE-Server-Version header`, evidence };
    if (wrong.length > 0)
      return { status: "pending", message: `X-SIE-Server-Version${where(pool)} is ${s.versions.join(", ")}, expected ${o.expected}`, evidence };
    // The gateway's own version (the X-SIE-Gateway-Version header) once it has been upgraded.
    const wrongGw = o.checkGateway ? s.gatewayVersions.filter((v) => v !== o.expectedGateway) : [];
    if (wrongGw.length > 0)
      return { status: "pending", message: `X-SIE-Gateway-Version is ${s.gatewayVersions.join(", ")}, expected ${o.expectedGateway}`, evidence };
  }
  const n = Object.values(perPool).reduce((a, s) => a + s.statuses.length, 0);
  return { status: "pass", message: `POST encode → 200 ×${n}, version ${o.expected}`, evidence };
}
