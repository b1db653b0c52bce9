// Scoped faults (sim/faultScopes.ts): a fault for one pool or component at one version, set via
// POST /sim/faults, leaves every other pod and version healthy and is kept in state.json.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../sim/index.js";
import { T } from "../../sim/resources.js";
import { api, componentDeployment, create, DEPLOY_PATH, namespace, NS, STS_PATH, TEST_TIMINGS, waitFor, workerStatefulSet } from "./helpers.js";

const ready = (sim: Simulator, name: string) =>
  sim.store.get(T.pods, NS, name)?.status?.conditions?.some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True") === true;

describe("scoped faults", () => {
  let sim: Simulator;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sie-sim-scopes-"));

  beforeAll(async () => {
    sim = await startSimulator({ stateDir: dir, timings: TEST_TIMINGS });
    await create(sim, "/api/v1/namespaces", namespace());
    await create(sim, DEPLOY_PATH, componentDeployment("config", { tag: "v0.3.2" }));
    for (const [p, tag] of [["l4", "v0.3.2"], ["a100", "v0.3.2"], ["cpu", "v0.3.1"]] as const) await create(sim, STS_PATH, workerStatefulSet({ pool: p, replicas: 1, tag }));
  });
  afterAll(async () => {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("hits only the pool and version it names; the config component too", async () => {
    const set = await api(sim, "POST", "/sim/faults", { scopes: [{ component: "worker", pool: "a100", version: "v0.3.2", fault: "noready" }, { component: "config", version: "0.3.2", fault: "5xx" }] });
    expect(set.status).toBe(200);
    await waitFor("l4 ready", () => ready(sim, "sie-worker-l4-0"), 10_000);
    await waitFor("cpu ready", () => ready(sim, "sie-worker-cpu-0"), 10_000);
    const state = (await (await fetch(`${sim.api}/sim/state`)).json()) as { pods: { name: string; fault?: string }[] };
    expect(state.pods.find((p) => p.name === "sie-worker-a100-0")?.fault).toBe("noready");
    expect(state.pods.find((p) => p.name === "sie-worker-l4-0")?.fault).toBeUndefined();
    expect(ready(sim, "sie-worker-a100-0")).toBe(false);
    await waitFor("config pod ready", () => sim.store.list(T.pods, NS).some((p) => p.metadata.labels?.["app.kubernetes.io/component"] === "config" && ready(sim, p.metadata.name)), 10_000);
    expect((await fetch(`${sim.config}/healthz`)).status).toBe(500);
  });

  it("rejects a bad scope naming the field, and removes a scope with fault null", async () => {
    const bad = await api(sim, "POST", "/sim/faults", { scopes: [{ component: "gateway", version: "v0.3.2", fault: "melt" }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("scopes[].fault");
    const off = await api(sim, "POST", "/sim/faults", { scopes: [{ component: "config", version: "v0.3.2", fault: null }] });
    expect((off.body as { scopes: unknown[] }).scopes).toEqual([{ component: "worker", pool: "a100", version: "v0.3.2", fault: "noready" }]);
    expect((await fetch(`${sim.config}/healthz`)).status).toBe(200);
  });

  it("is kept in state.json and comes back after a restart", async () => {
    await sim.stop();
    sim = await startSimulator({ stateDir: dir, timings: TEST_TIMINGS });
    const view = (await (await fetch(`${sim.api}/sim/faults`)).json()) as { scopes: unknown[] };
    expect(view.scopes).toEqual([{ component: "worker", pool: "a100", version: "v0.3.2", fault: "noready" }]);
    const cleared = await api(sim, "POST", "/sim/faults", { clear: true });
    expect((cleared.body as { scopes: unknown[] }).scopes).toEqual([]);
  });
});
