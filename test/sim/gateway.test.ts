import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION_HEADER, type Simulator } from "../../sim/index.js";
import { T } from "../../sim/resources.js";
import { api, componentDeployment, create, DEPLOY_PATH, namespace, NS, startTestSim, STS_PATH, waitFor, workerStatefulSet } from "./helpers.js";
import { deploymentRolloutDone } from "./rolloutStatus.js";

// One simulator, built up step by step: no pods → gateway → workers → gateway upgrade.
describe("SIE endpoints", () => {
  let sim: Simulator;
  const get = (path: string, base = sim.gateway) => fetch(`${base}${path}`);
  const encode = (model = "BAAI/bge-m3") =>
    fetch(`${sim.gateway}/v1/encode/${encodeURIComponent(model)}`, { method: "POST", body: JSON.stringify({ items: [{ text: "upgrade verification test" }] }) });

  beforeAll(async () => {
    sim = await startTestSim();
    await create(sim, "/api/v1/namespaces", namespace());
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("answers 503 without a Ready gateway pod, and config /healthz 503 without a config pod", async () => {
    const r = await get("/readyz");
    expect(r.status).toBe(503);
    expect(r.headers.get(VERSION_HEADER)).toBeNull();
    expect((await get("/healthz", sim.config)).status).toBe(503);
  });

  it("serves health with no workers: readyz 200 with 0 workers, health degraded, encode 202", async () => {
    await create(sim, DEPLOY_PATH, componentDeployment("gateway", { replicas: 2, tag: "v0.3.1" }));
    await create(sim, DEPLOY_PATH, componentDeployment("config", { replicas: 1, tag: "v0.3.1" }));
    await waitFor("gateway ready", async () => (await get("/readyz")).status === 200);
    const ready = await get("/readyz");
    expect(ready.headers.get(VERSION_HEADER)).toBe("0.3.1");
    expect(await ready.json()).toEqual({ status: "ready", healthy_workers: 0 });
    expect(await (await get("/healthz")).json()).toEqual({ status: "ok" });
    const health = (await (await get("/health")).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "degraded", type: "gateway", cluster: { worker_count: 0 } });
    expect(await (await get("/v1/models")).json()).toEqual({ models: [] });
    const e = await encode();
    expect(e.status).toBe(202);
    expect(e.headers.get("Retry-After")).toBe("5");
    await waitFor("config ready", async () => (await get("/healthz", sim.config)).status === 200);
    expect((await get("/healthz", sim.config)).headers.get(VERSION_HEADER)).toBe("0.3.1");
  });

  it("routes encodes to Ready workers; the version header is the worker's", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ pool: "l4", replicas: 2, tag: "v0.3.0" }));
    await waitFor("workers ready", async () => ((await (await get("/readyz")).json()) as { healthy_workers: number }).healthy_workers === 2);
    const r = await encode();
    expect(r.status).toBe(200);
    expect(r.headers.get(VERSION_HEADER)).toBe("0.3.0");
    expect(r.headers.get("X-SIE-Gateway-Version")).toBe("0.3.1");
    const body = (await r.json()) as { items: { dense: number[] }[] };
    expect(body.items).toHaveLength(1);
    expect(body.items[0]!.dense).toHaveLength(1024);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await encode()).headers.get("X-SIE-Worker") ?? "");
    expect([...seen].sort()).toEqual(["sie-worker-l4-0", "sie-worker-l4-1"]);
    expect((await encode("no/such-model")).status).toBe(404);

    const health = (await (await get("/health")).json()) as { status: string; cluster: Record<string, number>; workers: { name: string }[]; live_gpu_types: string[] };
    expect(health.status).toBe("healthy");
    expect(health.cluster).toMatchObject({ worker_count: 2, gpu_count: 2, models_loaded: 3 });
    expect(health.live_gpu_types).toEqual(["nvidia-l4"]);
    const models = (await (await get("/v1/models")).json()) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name)).toContain("BAAI/bge-m3");
  });

  it("X-SIE-Server-Version follows the Ready gateway pods through a gateway rollout", async () => {
    await api(sim, "PATCH", `${DEPLOY_PATH}/sie-gateway`, { spec: { template: { spec: { containers: [{ name: "gateway", image: "ghcr.io/superlinked/sie-gateway:v0.3.2" }] } } } }, "application/strategic-merge-patch+json");
    await waitFor("gateway rolled", () => {
      const d = sim.store.mustGet(T.deployments, NS, "sie-gateway");
      return d.metadata.generation === d.status?.observedGeneration && deploymentRolloutDone(d) === true;
    });
    const versions = new Set<string | null>();
    for (let i = 0; i < 6; i++) versions.add((await get("/healthz")).headers.get(VERSION_HEADER));
    expect([...versions]).toEqual(["0.3.2"]);
  });

  it("exposes Prometheus metrics with pool and version labels", async () => {
    const text = await (await get("/metrics")).text();
    expect(text).toMatch(/sie_gateway_requests_total\{pool="l4",status="200",version="0\.3\.0",model="BAAI\/bge-m3",endpoint="encode"\} \d+/);
    expect(text).toMatch(/sie_gateway_requests_total\{pool="",status="202",version="0\.3\.1"/);
    expect(text).toMatch(/sie_requests_total\{pool="l4",pod="sie-worker-l4-[01]",status="200",version="0\.3\.0"/);
    expect(text).toMatch(/sie_gateway_request_duration_seconds_bucket\{le="0\.5",pool="l4",version="0\.3\.0"\} \d+/);
    expect(text).toMatch(/sie_gateway_worker_queue_depth\{machine_profile="l4",bundle="default",pool="l4"\} 0/);
    expect(text).toContain("sie_gateway_pending_demand");
    expect(text).toContain("sie_gateway_request_errors_total");
  });

  it("runs a bounded load generator that stops by itself", async () => {
    const count = async () => {
      const text = await (await get("/metrics")).text();
      return [...text.matchAll(/^sie_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await count();
    const r = await api(sim, "POST", "/sim/load", { action: "start", rps: 100, durationMs: 300 });
    expect(r.body).toMatchObject({ running: true, options: { rps: 100, durationMs: 300 } });
    await waitFor("load stopped", async () => (await api(sim, "GET", "/sim/load")).body.running === false);
    await waitFor("responses counted", async () => (await count()) - before >= 15);
    const state = await api(sim, "GET", "/sim/state");
    expect(state.body.pods.length).toBeGreaterThanOrEqual(5);
    expect(state.body.endpoints.gateway).toBe(sim.gateway);
  });
});
