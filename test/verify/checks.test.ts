// Every non-metric check on the simulator: passes on a healthy deployment, fails with the right
// evidence on the fault it is meant to catch. No Pulumi engine: workloads are created and
// "upgraded" through the Kubernetes API directly.
import { afterEach, describe, expect, it } from "vitest";
import { runVerification } from "../../automation/verify/index.js";
import type { GateResult, WaveSpec } from "../../automation/types.js";
import { waitFor } from "../sim/helpers.js";
import { FAST_GATES, simControl, startFleet, upgradeComponent, upgradePool, type Fleet } from "./fixture.js";

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
});

const canary: WaveSpec = { name: "canary", kind: "pool", pools: ["l4"] };
const byName = (results: GateResult[], name: string): GateResult => {
  const r = results.find((g) => g.name === name);
  if (!r) throw new Error(`no gate ${name} in ${results.map((g) => g.name).join(", ")}`);
  return r;
};
const urls = (f: Fleet) => ({ gatewayUrl: f.sim.gateway, configUrl: f.sim.config });

describe("healthy deployment", () => {
  it("a canary wave passes every check; without Prometheus the suite says so and skips the metric gates", async () => {
    fleet = await startFleet({ pools: ["l4", "a100"] });
    await upgradePool(fleet, "l4", "v0.3.2");
    const results = await runVerification({ phase: "wave", wave: canary, kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2", gates: FAST_GATES });
    const failed = results.filter((g) => g.status === "fail");
    expect(failed).toEqual([]);
    // Only the wave's pool is judged: a100 still runs v0.3.1 on purpose.
    expect(results.map((g) => g.name)).toEqual(
      expect.arrayContaining(["rollout:StatefulSet/sie-worker-l4", "images:StatefulSet/sie-worker-l4", "gateway-readyz", "gateway-health", "gateway-models", "encode-smoke"]),
    );
    expect(results.some((g) => g.name.includes("a100"))).toBe(false);
    expect(byName(results, "encode-smoke").evidence).toMatchObject({ expectedVersion: "0.3.2", pools: { l4: { versions: ["0.3.2"] } } });
    expect(byName(results, "images:StatefulSet/sie-worker-l4").evidence).toMatchObject({ podCount: 2, images: ["ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default"] });
    expect(byName(results, "prometheus")).toMatchObject({ status: "warn", message: expect.stringMatching(/no Prometheus URL configured/) });
    expect(byName(results, "metric-gates")).toMatchObject({ status: "warn", message: expect.stringMatching(/metric gates not run/) });
  });

  it("the final verification passes once every component runs the new version", async () => {
    fleet = await startFleet({ pools: ["l4"], scaledObjects: true });
    await upgradePool(fleet, "l4", "v0.3.2");
    await upgradeComponent(fleet, "gateway", "v0.3.2");
    await upgradeComponent(fleet, "config", "v0.3.2");
    const results = await runVerification({ phase: "final", kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2", gates: FAST_GATES });
    expect(results.filter((g) => g.status === "fail")).toEqual([]);
    expect(byName(results, "gateway-health").evidence).toMatchObject({ healthStatus: "healthy", workerCount: 2, desiredWorkers: 2, expectedGpuTypes: ["nvidia-l4"], liveGpuTypes: ["nvidia-l4"] });
    expect(byName(results, "config-healthz")).toMatchObject({ status: "pass", evidence: { url: `${fleet.sim.config}/healthz`, status: 200 } });
    expect(byName(results, "keda")).toMatchObject({ status: "pass", evidence: { scaledObjects: [{ name: "sie-worker-l4-scaler", ready: "True", fallback: "False" }] } });
    expect(byName(results, "images:Deployment/sie-gateway").status).toBe("pass");
  });
});

describe("faults", () => {
  it("-5xx canary: the pinned encode smoke test fails with the 500s as evidence", async () => {
    fleet = await startFleet({ pools: ["l4", "a100"] });
    await upgradePool(fleet, "l4", "v0.3.2-5xx");
    const results = await runVerification({ phase: "wave", wave: canary, kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2-5xx", gates: FAST_GATES, checks: ["rollout", "images", "encode-smoke"] });
    expect(byName(results, "rollout:StatefulSet/sie-worker-l4").status).toBe("pass");
    const smoke = byName(results, "encode-smoke");
    expect(smoke.status).toBe("fail");
    expect(smoke.message).toMatch(/pool l4\): 10\/10 requests failed \(500\)/);
    expect(smoke.evidence).toMatchObject({ pools: { l4: { statuses: Array(10).fill(500) } } });
    // Definite failures are not retried into a pass.
    expect(smoke.evidence.attempts).toBe(1);
  });

  it("-pullerr canary: the rollout check fails fast with the pod's image-pull reason", async () => {
    fleet = await startFleet({ pools: ["l4"] });
    await upgradePool(fleet, "l4", "v0.3.2-pullerr", false);
    const results = await runVerification({ phase: "wave", wave: canary, kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2-pullerr", gates: { ...FAST_GATES, retries: 10, backoffSeconds: 0.2 }, checks: ["rollout"] });
    const r = byName(results, "rollout:StatefulSet/sie-worker-l4");
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/(ErrImagePull|ImagePullBackOff)/);
    expect(r.evidence.pods?.[0]).toMatchObject({ pod: "sie-worker-l4-1", image: "ghcr.io/superlinked/sie-server:v0.3.2-pullerr-cuda12-default" });
  });

  it("-noready canary: rollout and gateway-health fail once the grace period is over, naming the pod", async () => {
    fleet = await startFleet({ pools: ["l4"] });
    await upgradePool(fleet, "l4", "v0.3.2-noready", false);
    // Verification starts once the bad pod exists (the engine calls it after the rollout wait).
    const f = fleet;
    await waitFor("the noready pod", async () => (await f.kube.api.listPods("sie")).some((p) => p.metadata?.name === "sie-worker-l4-1" && p.spec?.containers[0]?.image?.includes("noready")));
    const results = await runVerification({
      phase: "wave",
      wave: canary,
      kube: fleet.kube,
      names: fleet.names,
      ...urls(fleet),
      expectTag: "v0.3.2-noready",
      gates: { ...FAST_GATES, retries: 4, backoffSeconds: 0.2 },
      notReadyAfterMs: 500,
      checks: ["rollout", "gateway-health"],
    });
    const r = byName(results, "rollout:StatefulSet/sie-worker-l4");
    expect(r.status).toBe("fail");
    expect(r.evidence.pods?.[0]).toMatchObject({ pod: "sie-worker-l4-1", reason: "NotReady" });
    const h = byName(results, "gateway-health");
    expect(h.status).toBe("fail");
    expect(h.message).toMatch(/1 of 2 desired workers registered/);
    expect(h.evidence).toMatchObject({ workerCount: 1, desiredWorkers: 2 });
  });

  it("images: pods still on the old tag fail with pod, image and expected tag", async () => {
    fleet = await startFleet({ pools: ["l4"] });
    const results = await runVerification({ phase: "wave", wave: canary, kube: fleet.kube, names: fleet.names, expectTag: "v0.3.2", gates: { ...FAST_GATES, retries: 1 }, checks: ["images"] });
    const r = byName(results, "images:StatefulSet/sie-worker-l4");
    expect(r.status).toBe("fail");
    expect(r.evidence.wrong).toEqual([
      { pod: "sie-worker-l4-0", image: "ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default", expected: "v0.3.2-<platform>-default" },
      { pod: "sie-worker-l4-1", image: "ghcr.io/superlinked/sie-server:v0.3.1-cuda12-default", expected: "v0.3.2-<platform>-default" },
    ]);
  });

  it("X-SIE-Server-Version must be the target: a gateway wave against workers on another version fails", async () => {
    fleet = await startFleet({ pools: ["l4"] });
    await upgradeComponent(fleet, "gateway", "v0.3.2");
    const results = await runVerification({ phase: "wave", wave: { name: "gateway", kind: "gateway" }, kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2", gates: { ...FAST_GATES, retries: 1 }, checks: ["encode-smoke"] });
    const r = byName(results, "encode-smoke");
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/X-SIE-Server-Version is 0\.3\.1, expected 0\.3\.2/);
  });

  it("KEDA Fallback (metrics down) fails the keda check with the condition as evidence", async () => {
    fleet = await startFleet({ pools: ["l4"], scaledObjects: true });
    await simControl(fleet.sim, "/sim/faults", { metricsDown: true });
    const results = await runVerification({ phase: "final", kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", gates: { ...FAST_GATES, retries: 20, backoffSeconds: 0.1 }, checks: ["keda"] });
    // Fallback is set after the next KEDA poll; until then the ScaledObject is Ready and passes.
    // Poll the check until KEDA has reacted, as the engine would after the thaw.
    let r = byName(results, "keda");
    for (let i = 0; i < 50 && r.status === "pass"; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = byName(await runVerification({ phase: "final", kube: fleet.kube, names: fleet.names, expectTag: "v0.3.1", gates: FAST_GATES, checks: ["keda"] }), "keda");
    }
    expect(r.status).toBe("fail");
    expect(r.message).toMatch(/sie-worker-l4-scaler in Fallback/);
    expect(r.evidence.scaledObjects).toEqual([expect.objectContaining({ name: "sie-worker-l4-scaler", fallback: "True", fallbackReason: "FallbackExists" })]);
  });
});

describe("patience", () => {
  it("a slow but healthy rollout is not failed early: the checks wait it out and pass", async () => {
    fleet = await startFleet({ pools: ["l4"], timings: { podStartMs: 700, podReadyMs: 500 } });
    await upgradePool(fleet, "l4", "v0.3.2", false);
    const results = await runVerification({ phase: "wave", wave: canary, kube: fleet.kube, names: fleet.names, ...urls(fleet), expectTag: "v0.3.2", gates: { ...FAST_GATES, retries: 12, backoffSeconds: 0.25 }, notReadyAfterMs: 60_000, checks: ["rollout", "images", "encode-smoke"] });
    expect(results.filter((g) => g.status !== "pass")).toEqual([]);
    const rollout = byName(results, "rollout:StatefulSet/sie-worker-l4");
    expect(rollout.evidence.attempts).toBeGreaterThan(1);
  });
});
