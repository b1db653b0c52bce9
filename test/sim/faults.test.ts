import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/index.js";
import { T } from "../../sim/resources.js";
import type { KObject } from "../../sim/store.js";
import { api, create, namespace, NS, startTestSim, STS_PATH, waitFor, workerStatefulSet } from "./helpers.js";

describe("faults by image tag", () => {
  let sim: Simulator;
  const pool = (p: string, tag: string) => workerStatefulSet({ pool: p, replicas: 1, tag });
  const pod = (p: string) => sim.store.get(T.pods, NS, `sie-worker-${p}-0`);
  const waiting = (o: KObject | undefined) => o?.status?.containerStatuses?.[0]?.state?.waiting?.reason as string | undefined;
  const encode = (p: string) =>
    fetch(`${sim.gateway}/v1/encode/BAAI%2Fbge-m3`, { method: "POST", headers: { "X-SIE-Pool": p }, body: JSON.stringify({ items: [{ text: "x" }] }) });

  beforeAll(async () => {
    sim = await startTestSim({ timings: { slowExtraMs: 400 } });
    await create(sim, "/api/v1/namespaces", namespace());
    await create(sim, `/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "sie-gateway", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { "app.kubernetes.io/component": "gateway" } },
        template: { metadata: { labels: { "app.kubernetes.io/component": "gateway" } }, spec: { containers: [{ name: "gateway", image: "ghcr.io/superlinked/sie-gateway:v0.3.1" }] } },
      },
    });
    for (const [p, tag] of [["ok", "v0.3.1"], ["crash", "v0.3.2-crashloop"], ["pull", "v0.3.2-pullerr"], ["noready", "v0.3.2-noready"], ["fivexx", "v0.3.2-5xx"], ["slow", "v0.3.2-slow"], ["err10", "v0.3.2-errors10"]] as const) {
      await create(sim, STS_PATH, pool(p, tag));
    }
    await waitFor("healthy pools ready", () => ["ok", "fivexx", "slow", "err10"].every((p) => pod(p)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True")));
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("-crashloop: CrashLoopBackOff with a growing restartCount, never Ready", async () => {
    await waitFor("two restarts", () => (pod("crash")?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2, 5000);
    await waitFor("in back-off", () => waiting(pod("crash")) === "CrashLoopBackOff");
    const p = pod("crash")!;
    expect(p.status.phase).toBe("Running");
    expect(p.status.containerStatuses[0].ready).toBe(false);
    expect(p.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const events = sim.store.list(T.events, NS).filter((e) => e.involvedObject.name === p.metadata.name).map((e) => e.reason);
    expect(events).toContain("BackOff");
  });

  it("-pullerr: ErrImagePull then ImagePullBackOff, never Running", async () => {
    await waitFor("ErrImagePull", () => waiting(pod("pull")) === "ErrImagePull");
    await waitFor("ImagePullBackOff", () => waiting(pod("pull")) === "ImagePullBackOff");
    expect(pod("pull")!.status.phase).toBe("Pending");
    expect(pod("pull")!.status.containerStatuses[0].state.running).toBeUndefined();
  });

  it("-noready: Running, never Ready; worker /readyz answers 503", async () => {
    await waitFor("running", () => pod("noready")?.status?.phase === "Running");
    await new Promise((r) => setTimeout(r, 300));
    const p = pod("noready")!;
    expect(p.status.containerStatuses[0].ready).toBe(false);
    const ready = await fetch(`${sim.gateway}/workers/sie-worker-noready-0/readyz`);
    expect(ready.status).toBe(503);
    expect((await fetch(`${sim.gateway}/workers/sie-worker-noready-0/healthz`)).status).toBe(200);
    expect((await fetch(`${sim.gateway}/workers/sie-worker-ok-0/readyz`)).status).toBe(200);
  });

  it("-5xx: Ready, but every encode routed to it returns 500", async () => {
    const codes = await Promise.all(Array.from({ length: 5 }, () => encode("fivexx").then((r) => r.status)));
    expect(codes).toEqual([500, 500, 500, 500, 500]);
    expect((await encode("ok")).status).toBe(200);
  });

  it("-errors10: about 10% of encodes return 500", async () => {
    const n = 100;
    const codes: number[] = [];
    for (let i = 0; i < n; i += 20) codes.push(...(await Promise.all(Array.from({ length: 20 }, () => encode("err10").then((r) => r.status)))));
    const ratio = codes.filter((c) => c === 500).length / n;
    expect(ratio).toBeGreaterThanOrEqual(0.05);
    expect(ratio).toBeLessThanOrEqual(0.15);
    expect(codes.filter((c) => c !== 200 && c !== 500)).toEqual([]);
  });

  it("-slow: Ready, encode latency + slowExtraMs", async () => {
    const t0 = performance.now();
    const r = await encode("slow");
    const ms = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(390);
    const t1 = performance.now();
    await encode("ok");
    expect(performance.now() - t1).toBeLessThan(300);
  });

  it("forced per-pod faults via POST /sim/faults", async () => {
    const r = await api(sim, "POST", "/sim/faults", { pods: [{ namespace: NS, name: "sie-worker-ok-0", fault: "noready" }] });
    expect(r.status).toBe(200);
    await waitFor("forced not ready", () => pod("ok")?.status?.containerStatuses?.[0]?.ready === false);
    await api(sim, "POST", "/sim/faults", { pods: [{ namespace: NS, name: "sie-worker-ok-0", fault: null }] });
    await waitFor("ready again", () => pod("ok")?.status?.containerStatuses?.[0]?.ready === true);
  });
});
