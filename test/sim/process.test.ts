import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1StatefulSet } from "@kubernetes/client-node";
import { runningSimulator, spawnSimulator, stopSimulator, type SpawnedSimulator } from "../../sim/index.js";
import { namespace, NS, TEST_TIMINGS, waitFor, workerStatefulSet } from "./helpers.js";

describe("simulator process", () => {
  const dirs: string[] = [];
  const sims: SpawnedSimulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.stop()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("writes endpoints.json and a kubeconfig, and keeps the cluster across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sie-sim-"));
    dirs.push(dir);
    const first = await spawnSimulator({ stateDir: dir, timings: TEST_TIMINGS });
    sims.push(first);
    const ep = JSON.parse(readFileSync(join(dir, "endpoints.json"), "utf8")) as Record<string, unknown>;
    expect(ep).toMatchObject({ pid: first.child.pid, api: first.api, gateway: first.gateway, config: first.config });
    expect(first.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The kubeconfig file alone is enough for client-node.
    const kc = new KubeConfig();
    kc.loadFromFile(first.kubeconfigPath);
    expect(kc.getCurrentContext()).toBe("sie-sim");
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: namespace() });
    await kc.makeApiClient(AppsV1Api).createNamespacedStatefulSet({ namespace: NS, body: workerStatefulSet({ replicas: 1 }) as V1StatefulSet });
    const before = await kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS });

    await first.stop();
    expect(first.child.exitCode).toBe(0);
    expect(existsSync(join(dir, "endpoints.json"))).toBe(false);
    expect(existsSync(join(dir, "state.json"))).toBe(true);

    const second = await spawnSimulator({ stateDir: dir, timings: TEST_TIMINGS });
    sims.push(second);
    const kc2 = new KubeConfig();
    kc2.loadFromFile(second.kubeconfigPath);
    const after = await kc2.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS });
    expect(after.metadata?.uid).toBe(before.metadata?.uid);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe(before.spec?.template.spec?.containers[0]?.image);
    // The controllers carry on: the pod exists and becomes ready.
    await waitFor("worker pod ready after restart", async () => {
      const s = await kc2.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: "sie-worker-l4", namespace: NS });
      return s.status?.readyReplicas === 1;
    });
  });

  it("runs detached as a daemon that stopSimulator(dir) ends", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sie-sim-"));
    dirs.push(dir);
    const sim = await spawnSimulator({ stateDir: dir, detached: true });
    sims.push(sim);
    expect(runningSimulator(dir)?.pid).toBe(sim.pid);
    expect((await fetch(`${sim.api}/version`)).status).toBe(200);
    expect(await stopSimulator(dir)).toBe(true);
    expect(runningSimulator(dir)).toBeUndefined();
    expect(existsSync(join(dir, "endpoints.json"))).toBe(false);
    expect(await stopSimulator(dir)).toBe(false);
  });
});
