import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../sim/index.js";
import { T } from "../../sim/resources.js";
import { api, componentDeployment, create, DEPLOY_PATH, namespace, NS, startTestSim, STS_PATH, waitFor, workerStatefulSet } from "./helpers.js";

function gpuNode(name: string, labels: Record<string, string>, gpus?: number) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    spec: { taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }] },
    ...(gpus !== undefined ? { status: { allocatable: { "nvidia.com/gpu": String(gpus) } } } : {}),
  };
}

describe("scheduling onto fake nodes, and garbage collection", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTestSim();
    await create(sim, "/api/v1/namespaces", namespace());
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("places pods by nodeSelector, taints and GPU capacity; reports Unschedulable otherwise", async () => {
    // A node created through the API keeps its status (the sim has no kubelet to report it).
    await create(sim, "/api/v1/nodes", gpuNode("gke-l4-1", { "cloud.google.com/gke-accelerator": "nvidia-l4" }, 1));
    const sts = workerStatefulSet({ pool: "l4", replicas: 2 });
    (sts.spec.template.spec as Record<string, unknown>).nodeSelector = { "cloud.google.com/gke-accelerator": "nvidia-l4" };
    await create(sim, STS_PATH, sts);
    const pod = (n: number) => sim.store.get(T.pods, NS, `sie-worker-l4-${n}`);
    await waitFor("one pod placed, one unschedulable", () => {
      const placed = [pod(0), pod(1)].filter((p) => p?.spec?.nodeName === "gke-l4-1").length;
      const stuck = [pod(0), pod(1)].find((p) => p?.status?.conditions?.some((c: { reason?: string }) => c.reason === "Unschedulable"));
      return placed === 1 && stuck ? stuck : undefined;
    });
    const events = sim.store.list(T.events, NS).filter((e) => e.reason === "FailedScheduling");
    expect(events[0]?.message).toContain("Insufficient nvidia.com/gpu");

    await create(sim, "/api/v1/nodes", gpuNode("gke-l4-2", { "cloud.google.com/gke-accelerator": "nvidia-l4" }, 1));
    await waitFor("both placed", () => pod(0)?.spec?.nodeName && pod(1)?.spec?.nodeName && pod(0)!.spec.nodeName !== pod(1)!.spec.nodeName);

    // A pod without the toleration cannot land on a tainted GPU node.
    await create(sim, DEPLOY_PATH, componentDeployment("gateway", { replicas: 1 }));
    await waitFor("gateway unschedulable", () =>
      sim.store.list(T.pods, NS).some((p) => p.metadata.name.startsWith("sie-gateway-") && p.status?.conditions?.some((c: { reason?: string }) => c.reason === "Unschedulable")),
    );
    const msg = sim.store.list(T.events, NS).filter((e) => e.reason === "FailedScheduling").map((e) => e.message).join(" ");
    expect(msg).toContain("untolerated taint {nvidia.com/gpu: present}");
  });

  it("deleting a Deployment removes its ReplicaSets and pods; deleting a namespace empties it", async () => {
    const del = await api(sim, "DELETE", `${DEPLOY_PATH}/sie-gateway`);
    expect(del.body).toMatchObject({ kind: "Status", status: "Success" });
    await waitFor("gateway pods gone", () => sim.store.list(T.pods, NS).every((p) => !p.metadata.name.startsWith("sie-gateway-")) && sim.store.list(T.replicasets, NS).length === 0);
    const r = await api(sim, "DELETE", `/api/v1/namespaces/${NS}`);
    expect(r.body.status.phase).toBe("Terminating");
    await waitFor("namespace gone", () => !sim.store.get(T.namespaces, undefined, NS));
    expect(sim.store.list(T.pods, NS)).toEqual([]);
    expect((await api(sim, "GET", `/api/v1/namespaces/${NS}`)).status).toBe(404);
  });
});
