// The sample gates of the gateway and config waves: a planned number of requests sent straight to
// the component the wave rolled (gateway: encodes of its first model; config service: /healthz),
// timed one by one and judged on their error count and p95 (sampleVerdict.ts). They time requests
// themselves instead of asking Prometheus: the gateway's request metrics are labelled with the
// serving worker's version and pool, not the gateway's, and the config service exports none, so
// no query isolates the new gateway or config pods. Right after a rollout the Service (kube-proxy,
// or the endpoint server's polled picture) may still route some requests to old pods for a
// moment, so answers carrying another version are left out of the tally and more are sent.
// A sample failing on latency is taken once more after a pause before the gate fails
// (sampleVerdict.ts judgeConfirmed): latency on a busy node comes in bursts a sample can land in.
import type { HttpFetch } from "../kube/apiProxy.js";
import { base, listModels, serverVersion } from "./endpoints.js";
import { describe } from "./prometheus.js";
import { type ErrorSamplePlan, planErrorSample, quantile } from "./sampleSize.js";
import {
  decidedFailure,
  judgeConfirmed,
  judgeSample,
  type LatencyBound,
  type LatencyLimits,
  latencyBound,
  type SampleFailure,
  type SampleTally,
  type SampleVerdict,
} from "./sampleVerdict.js";
import { sleep } from "./sleep.js";
import type { Check, CheckOutcome, EndpointBaseline, GatesConfig, SampledComponent, VerifyContext } from "./types.js";

/** The one request a sample repeats. */
export interface SampleRequest {
  component: SampledComponent;
  url: string;
  method: "GET" | "POST";
  body?: string;
  /** For the gateway, the model its encodes use. */
  model?: string;
}

/** What a sample saw: the tally the verdict reads plus what the evidence shows. */
export interface SampleRun extends SampleTally {
  /** Answers by HTTP status, or "timeout" / "error" for requests that got none. */
  statuses: Record<string, number>;
  /** Versions the answers reported (the gateway's own, or the config service's). */
  versions: Record<string, number>;
  /** Answers from another version than the expected one: sent, not counted. */
  otherVersion: number;
  /** The first few failures, for the message. */
  firstErrors: string[];
  stoppedEarly: boolean;
}

/** A component's request: the gateway's encode of its first listed model, or config's /healthz. */
async function sampleRequest(get: HttpFetch, component: SampledComponent, url: string, signal: AbortSignal): Promise<SampleRequest | CheckOutcome> {
  if (component === "config") return { component, url: `${base(url)}/healthz`, method: "GET" };
  const l = await listModels(get, url, signal);
  if (!("models" in l)) return l;
  const model = l.models[0];
  if (!model) return { status: "pending", message: "GET /v1/models returned no model to encode with", evidence: { url: l.url, status: l.reply.status } };
  return {
    component,
    url: `${base(url)}/v1/encode/${encodeURIComponent(model)}`,
    method: "POST",
    body: JSON.stringify({ items: [{ text: "sie-fleet sample" }] }),
    model,
  };
}

interface Answer {
  ok: boolean;
  status: string;
  ms: number;
  version?: string;
  error?: string;
}

async function sendOne(get: HttpFetch, req: SampleRequest, timeoutMs: number, signal?: AbortSignal): Promise<Answer> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  try {
    const r = await get(req.url, {
      method: req.method,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      ...(req.body ? { body: req.body, headers: { "content-type": "application/json" } } : {}),
    });
    // The body is part of the answer a client waits for.
    const text = await r.text();
    const ms = performance.now() - started;
    // On an encode X-SIE-Server-Version is the worker's; the gateway's own is X-SIE-Gateway-Version.
    const version = r.headers.get(req.component === "gateway" ? "x-sie-gateway-version" : "x-sie-server-version") ?? undefined;
    const ok = r.status === 200;
    return { ok, status: String(r.status), ms, ...(version ? { version } : {}), ...(ok ? {} : { error: `${r.status} ${text.slice(0, 120)}` }) };
  } catch (err) {
    const timedOut = timeout.aborted;
    return {
      ok: false,
      status: timedOut ? "timeout" : "error",
      ms: performance.now() - started,
      error: timedOut ? `no answer in ${timeoutMs}ms` : describe(err),
    };
  }
}

export interface SendOptions {
  /** How requests are made (the stack's API-server fetch, or plain fetch for an override URL). */
  http: HttpFetch;
  concurrency: number;
  /** Per request. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Asked after each answer: true stops sending (the verdict is already decided). */
  stop?: (t: SampleTally) => boolean;
  /**
   * Only answers reporting this version count. An answer without a version header counts (a
   * refused connection or a timeout is an error whoever caused it).
   */
  expectVersion?: string;
}

/**
 * Sends copies of `req`, `concurrency` at a time, until `requests` answers counted, at most
 * `requests` more sent for answers of another version. An outer abort ends it early, uncounted.
 */
async function sendSample(req: SampleRequest, requests: number, opts: SendOptions): Promise<SampleRun> {
  const run: SampleRun = { done: 0, errors: 0, latenciesMs: [], statuses: {}, versions: {}, otherVersion: 0, firstErrors: [], stoppedEarly: false };
  let inFlight = 0;
  let sent = 0;
  const more = () => run.done + inFlight < requests && sent < 2 * requests && !run.stoppedEarly && !opts.signal?.aborted;
  const worker = async (): Promise<void> => {
    while (more()) {
      inFlight++;
      sent++;
      const a = await sendOne(opts.http, req, opts.timeoutMs, opts.signal);
      inFlight--;
      if (opts.signal?.aborted) return;
      if (a.version) run.versions[a.version] = (run.versions[a.version] ?? 0) + 1;
      if (opts.expectVersion && a.version && a.version !== opts.expectVersion) {
        run.otherVersion++;
        continue;
      }
      run.done++;
      run.latenciesMs.push(a.ms);
      run.statuses[a.status] = (run.statuses[a.status] ?? 0) + 1;
      if (!a.ok) {
        run.errors++;
        if (run.firstErrors.length < 3 && a.error) run.firstErrors.push(a.error);
      }
      if (opts.stop?.(run)) run.stoppedEarly = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, requests)) }, worker));
  return run;
}

/** One sample's figures in the gate's evidence: the first sample's at the top, a confirmation's under `confirmation`. */
type SampleFigures = {
  done: number;
  errors: number;
  statuses: Record<string, number>;
  versions: Record<string, number>;
  otherVersion: number;
  p95Ms?: number;
  stoppedEarly: boolean;
  /** Why this sample failed; the gate's status and message say what the gate concluded. */
  failure?: SampleFailure;
  firstErrors: string[];
};

function sampleFigures(run: SampleRun, verdict: SampleVerdict): SampleFigures {
  return {
    done: run.done,
    errors: run.errors,
    statuses: run.statuses,
    versions: run.versions,
    otherVersion: run.otherVersion,
    ...(verdict.p95Ms !== undefined ? { p95Ms: verdict.p95Ms } : {}),
    stoppedEarly: run.stoppedEarly,
    ...(verdict.failure ? { failure: verdict.failure } : {}),
    firstErrors: run.firstErrors,
  };
}

/** The sample's plan from the stack's gates (the schema's ranges make it always plannable). */
function samplePlan(gates: GatesConfig): ErrorSamplePlan {
  return planErrorSample(gates.sample);
}

function latencyLimits(gates: GatesConfig, component: SampledComponent): LatencyLimits {
  const s = gates.sample;
  return {
    absoluteMs: component === "gateway" ? (s.maxP95LatencyMs.gateway ?? gates.maxP95LatencyMs) : s.maxP95LatencyMs.config,
    increaseMs: s.maxP95IncreaseMs,
    increaseRatio: s.maxP95IncreaseRatio,
  };
}

/** Samples a component as it runs now, the whole planned sample (no early stop). Never throws. */
export async function captureEndpointBaseline(
  get: HttpFetch,
  component: SampledComponent,
  url: string,
  gates: GatesConfig,
  signal?: AbortSignal,
): Promise<EndpointBaseline> {
  const timeoutMs = gates.checkTimeoutSeconds * 1000;
  const req = await sampleRequest(get, component, url, signal ?? AbortSignal.timeout(timeoutMs));
  if (!("method" in req)) return { url, requests: 0, errors: 0, error: req.message };
  const plan = samplePlan(gates);
  const run = await sendSample(req, plan.requests, { http: get, concurrency: gates.sample.concurrency, timeoutMs, ...(signal ? { signal } : {}) });
  const p95 = quantile(run.latenciesMs, 0.95);
  return {
    url: req.url,
    requests: run.done,
    errors: run.errors,
    ...(p95 !== undefined && run.done === plan.requests
      ? { p95Ms: Math.round(p95 * 10) / 10 }
      : { error: `sample cut short: ${run.done} of ${plan.requests}` }),
  };
}

/** The gate of the gateway or config wave (and of the final verification). */
export function endpointSampleCheck(ctx: VerifyContext, component: SampledComponent, url: string): Check {
  const plan = samplePlan(ctx.gates);
  const concurrency = ctx.gates.sample.concurrency;
  const timeoutMs = ctx.gates.checkTimeoutSeconds * 1000;
  const confirm = ctx.gates.sample.confirmLatencyFailures;
  // One interval, the time between two samples of the metric gates: long enough to leave a short
  // burst behind, short against a wave.
  const pauseMs = ctx.gates.intervalSeconds * 1000;
  const rounds = Math.ceil(plan.requests / concurrency);
  return {
    name: `${component}-sample`,
    // After the endpoint checks: a gateway that does not answer at all is their finding, and a
    // broken wave does not cost a sample.
    stage: 1,
    // Every round of requests may take a whole request timeout, one more for listing models; a
    // confirmation adds its rounds and its pause.
    timeoutMs: confirm ? (2 * rounds + 1) * timeoutMs + pauseMs : (rounds + 1) * timeoutMs,
    async run(signal): Promise<CheckOutcome> {
      const req = await sampleRequest(ctx.kube.http, component, url, signal);
      if (!("method" in req)) return req;
      const baseline = ctx.baseline?.endpoints?.[component];
      const bound: LatencyBound = latencyBound(latencyLimits(ctx.gates, component), baseline?.p95Ms);
      const expectVersion = serverVersion(ctx.componentTags?.[component] ?? ctx.expectTag);
      const take = (): Promise<SampleRun> =>
        sendSample(req, plan.requests, {
          http: ctx.kube.http,
          concurrency,
          timeoutMs,
          signal,
          expectVersion,
          stop: (t) => decidedFailure(t, plan, bound) !== undefined,
        });
      const run = await take();
      const firstVerdict = judgeSample(run, plan, bound);
      if (!firstVerdict.failure && run.done < plan.requests && !signal.aborted) {
        // Still mostly the old pods behind the Service: not settled, sample again after a backoff.
        return {
          status: "pending",
          message: `${run.done} of ${plan.requests} answers came from version ${expectVersion}, ${run.otherVersion} from ${Object.keys(run.versions)
            .filter((v) => v !== expectVersion)
            .join(", ")}`,
          evidence: { url: req.url, expectVersion, done: run.done, otherVersion: run.otherVersion, versions: run.versions },
        };
      }
      let confirmation: SampleRun | undefined;
      if (confirm && firstVerdict.failure === "latency") {
        // An abort during the pause leaves the confirmation empty, and the first failure stands.
        await sleep(pauseMs, signal);
        confirmation = await take();
      }
      const verdict = confirmation ? judgeConfirmed(run, confirmation, plan, bound, pauseMs) : firstVerdict;
      const errorsOf = verdict.failure === "errors" ? (confirmation ?? run).firstErrors : [];
      const firstErrors = errorsOf.length > 0 ? ` (${errorsOf.join("; ")})` : "";
      const requests = confirmation ? `${run.done}+${confirmation.done}` : `${run.done}`;
      return {
        status: verdict.status,
        message: `${req.method} ${component === "gateway" ? "encode" : "config /healthz"} ×${requests}: ${verdict.message}${firstErrors}`,
        evidence: {
          url: req.url,
          ...(req.model ? { model: req.model } : {}),
          plan: {
            ...plan,
            detectErrorRatio: ctx.gates.sample.detectErrorRatio,
            healthyErrorRatio: ctx.gates.sample.healthyErrorRatio,
            confidence: ctx.gates.sample.confidence,
          },
          expectVersion,
          maxP95Ms: bound.maxP95Ms,
          bound: bound.basis,
          ...(baseline ? { baseline: { ...baseline } } : {}),
          ...sampleFigures(run, firstVerdict),
          ...(confirmation ? { confirmation: { pauseMs, ...sampleFigures(confirmation, judgeSample(confirmation, plan, bound)) } } : {}),
        },
      };
    },
  };
}
