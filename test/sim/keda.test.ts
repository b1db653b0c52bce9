import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/index.js";
import type { KObject } from "../../sim/store.js";
import { T } from "../../sim/resources.js";
import { api, create, namespace, NS, scaledObject, SO_PATH, startTestSim, STS_PATH, waitFor, workerStatefulSet } from "./helpers.js";

const MERGE = "application/merge-patch+json";
const SO = "sie-worker-l4-scaler";

describe("KEDA ScaledObject controller", () => {
  let sim: Simulator;
  const so = (name = SO) => sim.store.mustGet(T.scaledobjects, NS, name);
  const sts = () => sim.store.mustGet(T.statefulsets, NS, "sie-worker-l4");
  const cond = (o: KObject, type: string) => (o.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
  const annotate = (a: Record<string, string | null>, name = SO) => api(sim, "PATCH", `${SO_PATH}/${name}`, { metadata: { annotations: a } }, MERGE);

  beforeEach(async () => {
    sim = await startTestSim();
    await create(sim, "/api/v1/namespaces", namespace());
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 2 }));
  });
  afterEach(async () => {
    await sim.stop();
  });

  it("reports Ready/Active/Fallback/Paused conditions with KEDA's reasons", async () => {
    await create(sim, SO_PATH, scaledObject("l4", { min: 1, max: 5, fallback: 2 }));
    await waitFor("conditions", () => so().status?.conditions?.length === 4);
    const s = so();
    expect(s.status.conditions.map((c: { type: string }) => c.type)).toEqual(["Ready", "Active", "Fallback", "Paused"]);
    expect(cond(s, "Ready")).toMatchObject({ status: "True", reason: "ScaledObjectReady" });
    expect(cond(s, "Active")).toMatchObject({ status: "False", reason: "ScalerNotActive" });
    expect(cond(s, "Fallback")).toMatchObject({ status: "False", reason: "NoFallbackFound" });
    expect(cond(s, "Paused")).toMatchObject({ status: "False", reason: "ScaledObjectUnpaused" });
    expect(s.status).toMatchObject({ scaleTargetKind: "apps/v1.StatefulSet", hpaName: `keda-hpa-${SO}` });
  });

  it("paused-replicas scales the target and pauses; removing it unpauses", async () => {
    await create(sim, SO_PATH, scaledObject("l4", { min: 1, max: 5 }));
    await annotate({ "autoscaling.keda.sh/paused-replicas": "4" });
    await waitFor("paused at 4", () => so().status?.pausedReplicaCount === 4 && cond(so(), "Paused")?.status === "True");
    expect(cond(so(), "Paused")?.reason).toBe("ScaledObjectPaused");
    expect(sts().spec.replicas).toBe(4);
    await waitFor("4 pods ready", () => sts().status?.readyReplicas === 4);
    expect(so().status.hpaName).toBeUndefined(); // KEDA deletes the HPA while paused

    await annotate({ "autoscaling.keda.sh/paused-replicas": null });
    await waitFor("unpaused", () => cond(so(), "Paused")?.status === "False");
    expect(cond(so(), "Paused")?.reason).toBe("ScaledObjectUnpaused");
    expect(so().status.pausedReplicaCount).toBeUndefined();
    expect(sts().spec.replicas).toBe(4); // within [min, max]; scale-down is stabilized

    await annotate({ "autoscaling.keda.sh/paused": "true" });
    await waitFor("paused flag", () => cond(so(), "Paused")?.status === "True");
    expect(sts().spec.replicas).toBe(4);
    await annotate({ "autoscaling.keda.sh/paused": "false" });
    await waitFor("paused=false unpauses", () => cond(so(), "Paused")?.status === "False");
  });

  it("metrics source down: Fallback=True and the target goes to fallback.replicas; without fallback Ready=False", async () => {
    await create(sim, SO_PATH, scaledObject("l4", { min: 1, max: 5, fallback: 3 }));
    await create(sim, STS_PATH, workerStatefulSet({ pool: "a100", replicas: 1 }));
    await create(sim, SO_PATH, scaledObject("a100", { min: 1, max: 3 }));
    const r = await api(sim, "POST", "/sim/faults", { metricsDown: true });
    expect(r.body).toMatchObject({ metricsDown: true });
    await waitFor("fallback", () => cond(so(), "Fallback")?.status === "True");
    expect(cond(so(), "Fallback")?.reason).toBe("FallbackExists");
    await waitFor("scaled to fallback", () => sts().spec.replicas === 3);
    await waitFor("no-fallback SO not ready", () => cond(so("sie-worker-a100-scaler"), "Ready")?.status === "False");
    expect(cond(so("sie-worker-a100-scaler"), "Ready")?.reason).toBe("TriggerError");

    await api(sim, "POST", "/sim/faults", { metricsDown: false });
    await waitFor("fallback cleared", () => cond(so(), "Fallback")?.status === "False" && cond(so("sie-worker-a100-scaler"), "Ready")?.status === "True");
  });

  it("Ready=False when the scale target does not exist", async () => {
    await create(sim, SO_PATH, scaledObject("l4", { target: "sie-worker-missing" }));
    await waitFor("not ready", () => cond(so(), "Ready")?.status === "False");
    expect(cond(so(), "Ready")?.reason).toBe("ScaledObjectCheckFailed");
  });

  it("scales up on queue depth within maxReplicaCount", async () => {
    await create(sim, SO_PATH, scaledObject("l4", { min: 1, max: 3 }));
    sim.ctx.queueDepth.set("l4", 45); // ceil(45 / threshold 10) = 5, capped at 3
    await waitFor("scaled up", () => sts().spec.replicas === 3);
    await waitFor("active", () => cond(so(), "Active")?.status === "True");
    sim.ctx.queueDepth.set("l4", 0);
  });
});
