import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/index.js";
import type { KObject, StoreEvent } from "../../sim/store.js";
import { T } from "../../sim/resources.js";
import { api, create, namespace, NS, startTestSim, STS_PATH, waitFor, workerStatefulSet } from "./helpers.js";
import { statefulSetRolloutDone } from "./rolloutStatus.js";

const NAME = "sie-worker-l4";
const PATH = `${STS_PATH}/${NAME}`;
const MERGE = "application/merge-patch+json";

function image(tag: string) {
  return `ghcr.io/superlinked/sie-server:${tag}-cuda12-default`;
}

function setImage(sim: Simulator, tag: string) {
  return api(sim, "PATCH", PATH, { spec: { template: { spec: { containers: [{ name: "sie-server", image: image(tag) }] } } } }, "application/strategic-merge-patch+json");
}

describe("StatefulSet controller", () => {
  let sim: Simulator;
  let sts: () => KObject;
  let pods: () => KObject[];

  beforeEach(async () => {
    sim = await startTestSim();
    await create(sim, "/api/v1/namespaces", namespace());
    sts = () => sim.store.mustGet(T.statefulsets, NS, NAME);
    pods = () => sim.store.list(T.pods, NS).filter((p) => p.metadata.name.startsWith(`${NAME}-`));
  });
  afterEach(async () => {
    await sim.stop();
  });

  const allReady = (n: number) => () => {
    const s = sts();
    return s.status?.readyReplicas === n && statefulSetRolloutDone(s) && s.status.currentRevision === s.status.updateRevision;
  };

  /** Records which pods the controller starts deleting, in order. */
  function deletions(): string[] {
    const order: string[] = [];
    sim.store.on("change", (e: StoreEvent) => {
      if (e.key === "pods" && e.type === "MODIFIED" && e.object.metadata.deletionTimestamp && !order.includes(e.object.metadata.name)) {
        order.push(e.object.metadata.name);
      }
    });
    return order;
  }

  it("rolls pods one at a time in reverse ordinal order and reports revisions like kubectl expects", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 3 }));
    await waitFor("initial rollout", allReady(3));
    const before = sts().status;
    expect(before).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, observedGeneration: 1 });
    expect(before.currentRevision).toMatch(new RegExp(`^${NAME}-[a-z0-9]{10}$`));
    for (const p of pods()) expect(p.metadata.labels?.["controller-revision-hash"]).toBe(before.currentRevision);

    const order = deletions();
    // While one pod is being replaced, no other pod may be down.
    let maxDown = 0;
    sim.store.on("change", (e: StoreEvent) => {
      if (e.key !== "pods") return;
      const down = pods().filter((p) => p.metadata.deletionTimestamp || p.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status !== "True").length;
      maxDown = Math.max(maxDown, down);
    });
    await setImage(sim, "v0.3.2");
    const mid = await waitFor("rollout started", () => (sts().status?.updateRevision !== before.currentRevision ? sts() : undefined));
    expect(mid.status.observedGeneration).toBe(2);
    expect(statefulSetRolloutDone(sts())).toBe(false);
    await waitFor("rollout done", allReady(3));
    expect(order).toEqual([`${NAME}-2`, `${NAME}-1`, `${NAME}-0`]);
    expect(maxDown).toBe(1);
    const after = sts().status;
    expect(after.currentRevision).toBe(after.updateRevision);
    expect(after.currentRevision).not.toBe(before.currentRevision);
    expect(pods().map((p) => p.spec?.containers[0].image)).toEqual([image("v0.3.2"), image("v0.3.2"), image("v0.3.2")]);
    const revisions = sim.store.list(T.controllerrevisions, NS).map((r) => r.metadata.name);
    expect(revisions).toEqual(expect.arrayContaining([before.currentRevision, after.updateRevision]));
  });

  it("honours rollingUpdate.partition: only ordinals >= partition move", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 3, partition: 2 }));
    await waitFor("initial rollout", allReady(3));
    const oldRev = sts().status.currentRevision;
    await setImage(sim, "v0.3.2");
    await waitFor("canary pod updated", () => {
      const s = sts();
      return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 ? s : undefined;
    });
    // Give the controller time to (wrongly) continue.
    await new Promise((r) => setTimeout(r, 400));
    const s = sts();
    expect(s.status).toMatchObject({ updatedReplicas: 1, currentReplicas: 2, currentRevision: oldRev });
    expect(statefulSetRolloutDone(s)).toBe(true); // "partitioned roll out complete"
    const byName = Object.fromEntries(pods().map((p) => [p.metadata.name, p.spec?.containers[0].image]));
    expect(byName).toEqual({ [`${NAME}-0`]: image("v0.3.1"), [`${NAME}-1`]: image("v0.3.1"), [`${NAME}-2`]: image("v0.3.2") });

    const order = deletions();
    await api(sim, "PATCH", PATH, { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, MERGE);
    await waitFor("rest of the rollout", allReady(3));
    expect(order).toEqual([`${NAME}-1`, `${NAME}-0`]);
  });

  it("Parallel: reverting a crashlooping update heals without manual deletes", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 3, policy: "Parallel" }));
    await waitFor("initial rollout", allReady(3));
    const good = sts().status.currentRevision;
    await setImage(sim, "v0.3.2-crashloop");
    await waitFor("pod 2 crashlooping", () =>
      sim.store.get(T.pods, NS, `${NAME}-2`)?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.store.get(T.pods, NS, `${NAME}-1`)?.spec?.containers[0].image).toBe(image("v0.3.1")); // rollout blocked
    await setImage(sim, "v0.3.1");
    await waitFor("self-healed", allReady(3));
    expect(sts().status.currentRevision).toBe(good);
    expect(pods().every((p) => p.metadata.labels?.["controller-revision-hash"] === good)).toBe(true);
  });

  it("OrderedReady: a revert stays stuck until the broken pod is deleted, which recreates it from the right revision", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 3, policy: "OrderedReady" }));
    await waitFor("initial rollout", allReady(3), 8000);
    const good = sts().status.currentRevision;
    await setImage(sim, "v0.3.2-crashloop");
    await waitFor("pod 2 crashlooping", () =>
      sim.store.get(T.pods, NS, `${NAME}-2`)?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff",
    );
    await setImage(sim, "v0.3.1");
    await new Promise((r) => setTimeout(r, 500));
    const stuck = sim.store.get(T.pods, NS, `${NAME}-2`)!;
    expect(stuck.spec?.containers[0].image).toBe(image("v0.3.2-crashloop"));
    expect(stuck.metadata.deletionTimestamp).toBeUndefined();
    expect(statefulSetRolloutDone(sts())).toBe(false);

    const r = await api(sim, "DELETE", `/api/v1/namespaces/${NS}/pods/${NAME}-2`);
    expect(r.status).toBe(200);
    await waitFor("healed after delete", allReady(3));
    expect(sim.store.get(T.pods, NS, `${NAME}-2`)?.metadata.labels?.["controller-revision-hash"]).toBe(good);
  });

  it("scales up and down through spec.replicas and the scale subresource", async () => {
    await create(sim, STS_PATH, workerStatefulSet({ replicas: 2 }));
    await waitFor("2 ready", allReady(2));
    await api(sim, "PATCH", `${PATH}/scale`, { spec: { replicas: 4 } }, MERGE);
    await waitFor("4 ready", allReady(4));
    expect(pods().map((p) => p.metadata.name).sort()).toEqual([0, 1, 2, 3].map((i) => `${NAME}-${i}`));
    const scale = await api(sim, "GET", `${PATH}/scale`);
    expect(scale.body).toMatchObject({ kind: "Scale", spec: { replicas: 4 }, status: { replicas: 4 } });
    expect(scale.body.status.selector).toContain("sie.superlinked.com/pool=l4");
    await api(sim, "PATCH", PATH, { spec: { replicas: 1 } }, MERGE);
    await waitFor("1 left", () => pods().length === 1 && allReady(1)());
    expect(pods()[0]!.metadata.name).toBe(`${NAME}-0`);
  });
});
