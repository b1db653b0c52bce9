import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/index.js";
import type { KObject } from "../../sim/store.js";
import { T } from "../../sim/resources.js";
import { api, componentDeployment, create, DEPLOY_PATH, namespace, NS, startTestSim, waitFor } from "./helpers.js";
import { deploymentRolloutDone } from "./rolloutStatus.js";

const NAME = "sie-gateway";
const PATH = `${DEPLOY_PATH}/${NAME}`;
const MERGE = "application/merge-patch+json";
const image = (tag: string) => `ghcr.io/superlinked/sie-gateway:${tag}`;

describe("Deployment controller", () => {
  let sim: Simulator;
  const deploy = () => sim.store.mustGet(T.deployments, NS, NAME);
  const pods = () => sim.store.list(T.pods, NS).filter((p) => p.metadata.name.startsWith(`${NAME}-`) && !p.metadata.deletionTimestamp);
  const cond = (d: KObject, type: string) => (d.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
  const setImage = (tag: string) => api(sim, "PATCH", PATH, { spec: { template: { spec: { containers: [{ name: "gateway", image: image(tag) }] } } } }, "application/strategic-merge-patch+json");

  beforeEach(async () => {
    sim = await startTestSim();
    await create(sim, "/api/v1/namespaces", namespace());
  });
  afterEach(async () => {
    await sim.stop();
  });

  it("creates a ReplicaSet per template and rolls to the new one", async () => {
    await create(sim, DEPLOY_PATH, componentDeployment("gateway", { replicas: 3 }));
    await waitFor("available", () => deploymentRolloutDone(deploy()) === true);
    const first = deploy();
    expect(cond(first, "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(cond(first, "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
    const hash = pods()[0]!.metadata.labels?.["pod-template-hash"];
    for (const p of pods()) expect(p.metadata.name).toMatch(new RegExp(`^${NAME}-${hash}-[a-z0-9]{5}$`));

    await setImage("v0.3.2");
    await waitFor("rolled", () => {
      const d = deploy();
      return d.status?.observedGeneration === 2 && deploymentRolloutDone(d) === true;
    });
    const d = deploy();
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(pods().map((p) => p.spec?.containers[0].image)).toEqual([image("v0.3.2"), image("v0.3.2"), image("v0.3.2")]);
    const sets = sim.store.list(T.replicasets, NS);
    expect(sets).toHaveLength(2);
    expect(sets.find((rs) => rs.metadata.labels?.["pod-template-hash"] === hash)?.spec.replicas).toBe(0);
  });

  it("does not roll out while paused and rolls out after unpause", async () => {
    await create(sim, DEPLOY_PATH, componentDeployment("gateway", { replicas: 2 }));
    await waitFor("available", () => deploymentRolloutDone(deploy()) === true);
    await api(sim, "PATCH", PATH, { spec: { paused: true } }, MERGE);
    await setImage("v0.3.2");
    await new Promise((r) => setTimeout(r, 500));
    const d = deploy();
    expect(pods().map((p) => p.spec?.containers[0].image)).toEqual([image("v0.3.1"), image("v0.3.1")]);
    expect(sim.store.list(T.replicasets, NS)).toHaveLength(1);
    expect(cond(d, "Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused" });
    expect(d.status.observedGeneration).toBe(d.metadata.generation);
    expect(deploymentRolloutDone(d)).toBe(false); // updatedReplicas 0 < replicas

    await api(sim, "PATCH", PATH, { spec: { paused: false } }, MERGE);
    await waitFor("rolled after resume", () => deploymentRolloutDone(deploy()) === true);
    expect(pods().map((p) => p.spec?.containers[0].image)).toEqual([image("v0.3.2"), image("v0.3.2")]);
  });

  it("keeps minimum availability during a broken rollout and reports ProgressDeadlineExceeded", async () => {
    const obj = componentDeployment("gateway", { replicas: 4 });
    (obj.spec as Record<string, unknown>).progressDeadlineSeconds = 10; // 10 simulated seconds = 200 ms here
    await create(sim, DEPLOY_PATH, obj);
    await waitFor("available", () => deploymentRolloutDone(deploy()) === true);
    await setImage("v0.3.2-crashloop");
    await waitFor("deadline exceeded", () => deploymentRolloutDone(deploy()) === "deadline", 5000);
    const d = deploy();
    expect(cond(d, "Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });
    expect(cond(d, "Available")?.status).toBe("True");
    // maxUnavailable 25% of 4 = 1: at least 3 old pods keep serving.
    expect(d.status.availableReplicas).toBeGreaterThanOrEqual(3);
    const reasons = sim.store.list(T.events, NS).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["ScalingReplicaSet", "BackOff"]));
  });
});
