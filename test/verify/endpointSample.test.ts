// The gateway and config sample gates against an in-process HTTP server that answers like SIE's
// gateway (/v1/models, encode) and config service (/healthz), with the fault table's request
// faults: every 10th request failing, every request failing, and latency added (400 ms rather than
// the fault table's 1500 ms, with bounds below it, to keep the unit lane fast).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureBaseline } from "../../automation/verify/baseline.js";
import { buildChecks } from "../../automation/verify/checks.js";
import { endpointSampleCheck } from "../../automation/verify/endpointSample.js";
import { resolveGates } from "../../automation/verify/metricGates.js";
import { runCheck } from "../../automation/verify/runner.js";
import type { GatesInput, VerifyContext } from "../../automation/verify/types.js";

type Fault = "none" | "errors10" | "slow" | "5xx";

let server: http.Server;
let url: string;
let fault: Fault = "none";
let served = 0;
/** Requests answered by an "old pod" (version 0.3.1) before the new one takes over. */
let oldAnswers = 0;

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
      const fails = fault === "5xx" || (fault === "errors10" && served % 10 === 0);
      setTimeout(() => (fails ? send(500, { error: "injected" }) : send(200, { status: "ok" })), fault === "slow" ? 400 : 1);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function ctx(gates: GatesInput = {}, extra: Partial<VerifyContext> = {}): VerifyContext {
  // Plain fetch stands in for the stack's API-server fetch: this server is the component itself.
  return { phase: "wave", expectTag: "v0.3.2", gates: resolveGates(gates), kube: { http: fetch }, ...extra } as unknown as VerifyContext;
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
  });

  it("every request failing is caught after a handful of requests", async () => {
    const r = await sample("gateway", "5xx");
    expect(r).toMatchObject({ name: "gateway-sample", status: "fail", evidence: { failure: "errors", model: "bge-m3" } });
    expect(r.evidence["done"]).toBeLessThanOrEqual(5 + 3);
  });

  it("latency over the config's absolute bound fails after six slow requests", async () => {
    const r = await sample("config", "slow", ctx({ sample: { maxP95LatencyMs: { config: 300 } } }));
    expect(r).toMatchObject({ status: "fail", evidence: { failure: "latency", stoppedEarly: true, maxP95Ms: 300 } });
    expect(r.evidence["done"]).toBeLessThanOrEqual(6 + 3);
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
