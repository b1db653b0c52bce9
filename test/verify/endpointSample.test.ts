// The gateway and config sample gates against an in-process HTTP server that answers like SIE's
// gateway (/v1/models, encode) and config service (/healthz), with the fault table's request
// faults: every 10th request failing, every request failing, and latency added (400 ms rather than
// the fault table's 1500 ms, with bounds below it, to keep the unit lane fast); and a burst: the
// first few requests slow, as on a machine busy for a moment.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureBaseline } from "../../automation/verify/baseline.js";
import { buildChecks } from "../../automation/verify/checks.js";
import { endpointSampleCheck } from "../../automation/verify/endpointSample.js";
import { resolveGates } from "../../automation/verify/metricGates.js";
import { runCheck } from "../../automation/verify/runner.js";
import type { GatesInput, VerifyContext } from "../../automation/verify/types.js";

type Fault = "none" | "errors10" | "slow" | "5xx" | "burst";

/** Requests a "burst" slows: enough to fail a sample of 113 (6 decide it), over before the confirmation. */
const BURST = 6;

let server: http.Server;
let url: string;
let fault: Fault = "none";
let served = 0;
/** Requests answered by an "old pod" (version 0.3.1) before the new one takes over. */
let oldAnswers = 0;
/** Called as each sampled request arrives. */
let onRequest: (() => void) | undefined;
/** When set, how long every answer takes (a request no one cancels is waited for that long). */
let hangMs = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { "content-type": "application/json", "x-sie-server-version": "0.3.2", "x-sie-gateway-version": "0.3.2" });
        res.end(JSON.stringify(body));
      };
      if (req.url === "/v1/models") return send(200, { models: [{ name: "bge-m3" }] });
      if (oldAnswers > 0) {
        oldAnswers--;
        res.writeHead(200, { "x-sie-server-version": "0.3.1", "x-sie-gateway-version": "0.3.1" });
        return res.end("{}");
      }
      served++;
      onRequest?.();
      const fails = fault === "5xx" || (fault === "errors10" && served % 10 === 0);
      const slow = fault === "slow" || (fault === "burst" && served <= BURST);
      setTimeout(() => (fails ? send(500, { error: "injected" }) : send(200, { status: "ok" })), hangMs || (slow ? 400 : 1));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function ctx(gates: GatesInput = {}, extra: Partial<VerifyContext> = {}): VerifyContext {
  // Plain fetch stands in for the stack's API-server fetch: this server is the component itself.
  // One second between a latency failure and its confirmation (the interval), not the default 30.
  return {
    phase: "wave",
    expectTag: "v0.3.2",
    gates: resolveGates({ intervalSeconds: 1, ...gates }),
    kube: { http: fetch },
    ...extra,
  } as unknown as VerifyContext;
}

async function sample(component: "gateway" | "config", f: Fault, c = ctx(), old = 0) {
  fault = f;
  served = 0;
  oldAnswers = old;
  return runCheck(endpointSampleCheck(c, component, url));
}

describe("sample gates", () => {
  it("a healthy config service passes the whole planned sample", async () => {
    const r = await sample("config", "none");
    expect(r).toMatchObject({ name: "config-sample", status: "pass" });
    expect(r.evidence).toMatchObject({ url: `${url}/healthz`, done: 113, errors: 0, statuses: { "200": 113 }, versions: { "0.3.2": 113 }, maxP95Ms: 1000 });
    expect(r.evidence["plan"]).toMatchObject({ requests: 113, maxErrors: 4, detectErrorRatio: 0.1, healthyErrorRatio: 0.01, confidence: 0.99 });
  });

  it("every 10th request failing is caught on the error count, before the sample ends", async () => {
    const r = await sample("config", "errors10");
    expect(r.status).toBe("fail");
    expect(r.evidence).toMatchObject({ failure: "errors", stoppedEarly: true, errors: 5 });
    expect(r.evidence["done"]).toBeLessThan(60);
    expect(r.message).toMatch(/5\/\d+ failed \(at most 4 of 113 allowed\).*500/);
    // Errors are never re-checked: every request the server saw is in the one sample.
    expect(served).toBe(r.evidence["done"]);
    expect(r.evidence["confirmation"]).toBeUndefined();
  });

  it("every request failing is caught after a handful of requests, with no confirmation sample", async () => {
    const r = await sample("gateway", "5xx");
    expect(r).toMatchObject({ name: "gateway-sample", status: "fail", evidence: { failure: "errors", model: "bge-m3" } });
    expect(r.evidence["done"]).toBeLessThanOrEqual(5 + 3);
    expect(served).toBe(r.evidence["done"]);
    expect(r.evidence["confirmation"]).toBeUndefined();
  });

  it("latency over the config's absolute bound fails after six slow requests, and again in the confirmation sample", async () => {
    const r = await sample("config", "slow", ctx({ sample: { maxP95LatencyMs: { config: 300 } } }));
    expect(r).toMatchObject({
      status: "fail",
      evidence: { failure: "latency", stoppedEarly: true, maxP95Ms: 300, confirmation: { pauseMs: 1000, failure: "latency", stoppedEarly: true } },
    });
    expect(r.evidence["done"]).toBeLessThanOrEqual(6 + 3);
    const confirmation = r.evidence["confirmation"] as { done: number };
    expect(confirmation.done).toBeLessThanOrEqual(6 + 3);
    expect(served).toBe((r.evidence["done"] as number) + confirmation.done);
    expect(r.message).toMatch(
      /^GET config \/healthz ×\d+\+\d+: p95 over 300ms \(absolute 300ms\) in the first sample: \d of 113 requests slower, 6 decide it, p95 4\d\d(\.\d)?ms, 0\/\d+ failed; confirmation sample 1s later over it too: \d of 113 requests slower, 6 decide it, p95 4\d\d(\.\d)?ms, 0\/\d+ failed/,
    );
  });

  it("the gateway's bound is the baseline's p95 plus 250 ms, so 400 ms added fails though it is under the absolute 2000 ms", async () => {
    fault = "none";
    const baseline = await captureBaseline({ http: fetch, gates: {}, namespace: "sie", pools: [], gatewayUrl: url, configUrl: url });
    expect(baseline?.prometheusUrl).toBeUndefined();
    expect(baseline?.endpoints?.gateway).toMatchObject({ url: `${url}/v1/encode/bge-m3`, requests: 113, errors: 0 });
    expect(baseline?.endpoints?.config?.p95Ms).toBeLessThan(100);
    const c = ctx({}, { baseline: baseline! });
    const r = await sample("gateway", "slow", c);
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "latency", bound: expect.stringMatching(/^baseline p95/) } });
    expect(r.evidence["maxP95Ms"]).toBeLessThan(400);
    expect((await sample("gateway", "none", c)).status).toBe("pass");
  });

  it("answers of the old version (a Service still routing to old pods) are left out and replaced", async () => {
    const r = await sample("config", "errors10", ctx(), 30);
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "errors", otherVersion: 30, versions: { "0.3.1": 30 } } });
    expect((await sample("config", "none", ctx(), 100)).evidence).toMatchObject({ done: 113, otherVersion: 100, errors: 0 });
  });

  it("a sample that sees mostly the old version is not settled: pending, then a fail saying so", async () => {
    fault = "none";
    oldAnswers = 300; // more than one attempt sends (2 × 113): the second attempt sees the new version
    const r = await runCheck(endpointSampleCheck(ctx(), "gateway", url), { retries: 1, backoffMs: 10 }).finally(() => (oldAnswers = 0));
    expect(r).toMatchObject({ status: "pass", evidence: { attempts: 2, done: 113, otherVersion: 74 } });
    oldAnswers = 10_000;
    const stuck = await runCheck(endpointSampleCheck(ctx(), "gateway", url), { retries: 1, backoffMs: 10 }).finally(() => (oldAnswers = 0));
    expect(stuck).toMatchObject({
      status: "fail",
      message: expect.stringMatching(/^not settled after 2 attempt\(s\).*: 0 of 113 answers came from version 0\.3\.2, 226 from 0\.3\.1/),
    });
  });

  it("no baseline is captured for a sample no wave runs", async () => {
    expect(await captureBaseline({ http: fetch, gates: { checks: { wave: ["images"] } }, namespace: "sie", pools: [], gatewayUrl: url })).toBeUndefined();
  });

  it("each runs in its own wave and at the end, after the endpoint checks", () => {
    const urls = { gatewayUrl: url, configUrl: url };
    const names = (c: VerifyContext) => buildChecks(["gateway-sample", "config-sample"], c).checks.map((k) => `${k.name}@${k.stage}`);
    expect(names(ctx({}, { ...urls, wave: { name: "canary", kind: "pool", pools: ["l4"] } }))).toEqual([]);
    expect(names(ctx({}, { ...urls, wave: { name: "gateway", kind: "gateway" } }))).toEqual(["gateway-sample@1"]);
    expect(names(ctx({}, { ...urls, wave: { name: "config", kind: "config" } }))).toEqual(["config-sample@1"]);
    expect(names(ctx({}, { ...urls, phase: "final" }))).toEqual(["gateway-sample@1", "config-sample@1"]);
    expect(buildChecks(["config-sample"], ctx({}, { wave: { name: "config", kind: "config" } })).skipped[0]).toMatchObject({
      status: "warn",
      message: "skipped: no config service URL",
    });
  });
});

describe("a latency failure is confirmed on a second sample before the gate fails", () => {
  const tight = { sample: { maxP95LatencyMs: { config: 300 } } };

  it("a burst in the first sample only: the confirmation passes, and the message shows both samples", async () => {
    const r = await sample("config", "burst", ctx(tight));
    expect(r).toMatchObject({
      status: "pass",
      evidence: { failure: "latency", maxP95Ms: 300, confirmation: { pauseMs: 1000, done: 113, errors: 0, stoppedEarly: false } },
    });
    expect((r.evidence["confirmation"] as { failure?: string }).failure).toBeUndefined();
    expect(served).toBe((r.evidence["done"] as number) + 113);
    expect(r.message).toMatch(
      /^GET config \/healthz ×\d+\+113: p95 over 300ms \(absolute 300ms\) in the first sample: 6 of 113 requests slower, 6 decide it, p95 4\d\d(\.\d)?ms, 0\/\d+ failed; confirmation sample 1s later passed: p95 \d+(\.\d)?ms <= 300ms, 0\/113 failed \(at most 4 of 113 allowed\)$/,
    );
  });

  it("with confirmLatencyFailures off the first latency failure stands", async () => {
    const r = await sample("config", "burst", ctx({ sample: { maxP95LatencyMs: { config: 300 }, confirmLatencyFailures: false } }));
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "latency" } });
    expect(r.evidence["confirmation"]).toBeUndefined();
    expect(served).toBe(r.evidence["done"]);
  });

  /** Aborts `afterMs` after the last request arrived: the timer restarts with each request. */
  function abortWhenQuiet(afterMs: number): { signal: AbortSignal; abortedAt: () => number } {
    const ac = new AbortController();
    let at = 0;
    let timer: NodeJS.Timeout | undefined;
    onRequest = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        at = performance.now();
        ac.abort();
      }, afterMs);
    };
    return { signal: ac.signal, abortedAt: () => at };
  }

  /**
   * Aborts as the first request arrives more than `gapMs` after the one before (the confirmation's
   * first), with the requests from then on left hanging.
   */
  function abortAfterGap(gapMs: number): { signal: AbortSignal; abortedAt: () => number; servedAtAbort: () => number } {
    const ac = new AbortController();
    let last = performance.now();
    let at = 0;
    let servedAtAbort = -1;
    onRequest = () => {
      const now = performance.now();
      if (!ac.signal.aborted && now - last > gapMs) {
        hangMs = 10_000;
        servedAtAbort = served;
        at = now;
        ac.abort();
      }
      last = now;
    };
    return { signal: ac.signal, abortedAt: () => at, servedAtAbort: () => servedAtAbort };
  }

  it("an abort during the pause ends the check at once, and no confirmation request is sent", async () => {
    fault = "slow";
    served = 0;
    // The pause is 2 s; the first sample's requests arrive 400 ms apart, so 1.2 s of quiet is inside the pause.
    const { signal, abortedAt } = abortWhenQuiet(1200);
    const check = endpointSampleCheck(ctx({ ...tight, intervalSeconds: 2 }), "config", url);
    const r = await check.run(signal).finally(() => (onRequest = undefined));
    const ended = performance.now();
    expect(signal.aborted).toBe(true);
    expect(ended - abortedAt()).toBeLessThan(500);
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "latency", confirmation: { done: 0 } } });
    expect(served).toBe(r.evidence["done"]);
    expect(r.message).toMatch(/confirmation sample 2s later cut short: 0 of 113 requests done, so the first sample's failure stands/);
  });

  it("an abort during the confirmation sample stops its requests", async () => {
    fault = "slow";
    served = 0;
    // As above, the confirmation's first request is the first after more than 1.2 s of quiet.
    const { signal, abortedAt, servedAtAbort } = abortAfterGap(1200);
    const check = endpointSampleCheck(ctx({ ...tight, intervalSeconds: 2 }), "config", url);
    const r = await check.run(signal).finally(() => {
      onRequest = undefined;
      hangMs = 0;
    });
    expect(signal.aborted).toBe(true);
    // Requests in flight are cancelled with the abort, not waited for (they would hang 10 s).
    expect(performance.now() - abortedAt()).toBeLessThan(2000);
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "latency", confirmation: { done: 0 } } });
    // At most the first round of the confirmation (4 in flight) reached the server, none after the abort.
    expect(served - (r.evidence["done"] as number)).toBeLessThanOrEqual(4);
    await new Promise((res) => setTimeout(res, 500));
    expect(served).toBeLessThanOrEqual(servedAtAbort() + 3);
  });
});
