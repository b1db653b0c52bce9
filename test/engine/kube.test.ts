// The engine's Kubernetes helpers (automation/kube) against the lane cluster's real API server,
// controllers and kwok nodes, through @kubernetes/client-node as the engine uses them: KEDA
// freeze/thaw annotations, holds by partition and pause released wave by wave, rollout status
// failing fast on the fault tags kwok plays, and stuck-pod deletion unsticking a revert. The
// workloads are bare ones of this file's namespace (no requests, so they land on CPU nodes).
import type { V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { KEDA } from "../../core/defaults.js";
import { KubeClient } from "../../automation/kube/client.js";
import { applyHolds, planHolds, releaseWave, restoreHolds } from "../../automation/kube/holds.js";
import { SCALED_OBJECTS, applyKedaFreeze, pauseAnnotations, planKedaFreeze, thawKeda } from "../../automation/kube/keda.js";
import { podRevision } from "../../automation/kube/podHealth.js";
import { deleteStuckPods, statefulSetPods } from "../../automation/kube/pods.js";
import { waitForRollout, type WaitForRolloutOptions } from "../../automation/kube/rollout.js";
import { isHeld } from "../../automation/kube/rolloutStatus.js";
import { useStackFixture, waitFor, type StackFixture } from "../support/stackFixture.js";

const fixture = useStackFixture({ deploy: false });
const WAIT = { timeoutMs: 60_000, pollMs: 200, notReadyAfterMs: 60_000 };

const labels = (component: string, pool?: string): Record<string, string> => ({
  "app.kubernetes.io/name": "sie-cluster",
  "app.kubernetes.io/instance": "sie",
  "app.kubernetes.io/component": component,
  ...(pool ? { "sie.superlinked.com/pool": pool } : {}),
});
const workerImage = (tag: string): string => `ghcr.io/superlinked/sie-server:${tag}-cuda12-default`;

describe("automation/kube against the real API server", () => {
  let fx: StackFixture;
  let kube: KubeClient;
  let NS: string;

  beforeAll(async () => {
    fx = fixture();
    NS = fx.namespace;
    kube = KubeClient.fromKubeconfig({ kubeconfigPath: fx.cluster.kubeconfigPath });
    await fx.core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor("the namespace's default ServiceAccount", async () =>
      (await fx.core.readNamespacedServiceAccount({ name: "default", namespace: NS })) ? true : undefined,
    );
  });

  // Every test starts from an empty namespace.
  afterEach(async () => {
    await fx.apps.deleteCollectionNamespacedStatefulSet({ namespace: NS });
    await fx.apps.deleteCollectionNamespacedDeployment({ namespace: NS });
    await fx.custom.deleteCollectionNamespacedCustomObject({ ...SCALED_OBJECTS, namespace: NS });
    await waitFor("the namespace's pods to be gone", async () => ((await fx.core.listNamespacedPod({ namespace: NS })).items.length === 0 ? true : undefined), {
      timeoutMs: 60_000,
    });
  }, 90_000);

  function worker(pool: string, replicas: number, policy: "Parallel" | "OrderedReady" = "Parallel"): V1StatefulSet {
    const l = labels("worker", pool);
    return {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: `sie-worker-${pool}`, namespace: NS, labels: l },
      spec: {
        replicas,
        serviceName: "sie-worker",
        podManagementPolicy: policy,
        selector: { matchLabels: l },
        template: { metadata: { labels: l }, spec: { containers: [{ name: "sie-server", image: workerImage("v0.3.1") }] } },
      },
    };
  }

  function deployment(component: "gateway" | "config", replicas: number): V1Deployment {
    const l = labels(component);
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `sie-${component}`, namespace: NS, labels: l },
      spec: {
        replicas,
        selector: { matchLabels: l },
        template: { metadata: { labels: l }, spec: { containers: [{ name: component, image: `ghcr.io/superlinked/sie-${component}:v0.3.1` }] } },
      },
    };
  }

  const scaledObject = (name: string, target: string, annotations?: Record<string, string>): object => ({
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec: {
      scaleTargetRef: { kind: "StatefulSet", name: target },
      minReplicaCount: 1,
      maxReplicaCount: 5,
      triggers: [{ type: "prometheus", metadata: { serverAddress: "http://p:9090", query: "vector(0)", threshold: "10" } }],
    },
  });

  const rollout = (kind: "StatefulSet" | "Deployment", name: string, opts: WaitForRolloutOptions = WAIT) => waitForRollout(kube.api, NS, kind, name, opts);

  async function createWorker(pool: string, replicas: number, policy?: "Parallel" | "OrderedReady"): Promise<void> {
    await kube.api.apps.createNamespacedStatefulSet({ namespace: NS, body: worker(pool, replicas, policy) });
    expect((await rollout("StatefulSet", `sie-worker-${pool}`)).status).toBe("done");
  }

  async function createDeployment(component: "gateway" | "config", replicas: number): Promise<void> {
    await kube.api.apps.createNamespacedDeployment({ namespace: NS, body: deployment(component, replicas) });
    expect((await rollout("Deployment", `sie-${component}`)).status).toBe("done");
  }

  /** What the release update does to a worker StatefulSet: a new template image. Resolves once the controller has seen it. */
  async function setWorkerTag(pool: string, tag: string): Promise<string> {
    const name = `sie-worker-${pool}`;
    const sts = await kube.api.mergePatchStatefulSet(NS, name, {
      spec: { template: { spec: { containers: [{ name: "sie-server", image: workerImage(tag) }] } } },
    });
    return waitFor(`${name} observed at generation ${sts.metadata?.generation}`, async () => {
      const s = await kube.api.getStatefulSet(NS, name);
      return (s.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0) ? s.status?.updateRevision : undefined;
    });
  }

  async function setDeploymentTag(component: string, tag: string): Promise<void> {
    await kube.api.mergePatchDeployment(NS, `sie-${component}`, {
      spec: { template: { spec: { containers: [{ name: component, image: `ghcr.io/superlinked/sie-${component}:${tag}` }] } } },
    });
  }

  const podsOnRevision = async (statefulSet: string, revision: string) =>
    (await statefulSetPods(kube.api, NS, await kube.api.getStatefulSet(NS, statefulSet))).filter(
      (p) => podRevision(p) === revision && !p.metadata?.deletionTimestamp,
    );
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  describe("KubeClient", () => {
    it("never shows the kubeconfig", () => {
      expect(String(kube)).toBe(`KubeClient(${fx.cluster.server})`);
      expect(JSON.stringify(kube)).toBe(JSON.stringify({ server: fx.cluster.server }));
      expect(() => KubeClient.fromKubeconfig({ kubeconfig: "{{{ not yaml: [" })).toThrow(/could not be parsed/);
    });

    it("reports API errors with the operation and HTTP status", async () => {
      await expect(kube.api.getStatefulSet(NS, "nope")).rejects.toMatchObject({
        code: "kube-api",
        status: 404,
        message: expect.stringContaining(`read statefulset ${NS}/nope failed (HTTP 404)`),
      });
    });
  });

  describe("planKedaFreeze / applyKedaFreeze / thawKeda", () => {
    it("freezes each ScaledObject at its own target's replicas and restores prior annotations exactly", async () => {
      await createWorker("l4", 3);
      // a100 at 4: where KEDA had scaled it while someone pinned it there by hand.
      await createWorker("a100", 4);
      await createWorker("cpu", 2);
      const custom = kube.api.custom;
      await custom.createNamespacedCustomObject({ ...SCALED_OBJECTS, namespace: NS, body: scaledObject("sie-worker-l4-scaler", "sie-worker-l4") });
      await custom.createNamespacedCustomObject({
        ...SCALED_OBJECTS,
        namespace: NS,
        body: scaledObject("sie-worker-a100-scaler", "sie-worker-a100", { [KEDA.pausedReplicasAnnotation]: "4", team: "ml" }),
      });
      await custom.createNamespacedCustomObject({
        ...SCALED_OBJECTS,
        namespace: NS,
        body: scaledObject("sie-worker-cpu-scaler", "sie-worker-cpu", { [KEDA.pausedAnnotation]: "true" }),
      });
      await custom.createNamespacedCustomObject({ ...SCALED_OBJECTS, namespace: NS, body: scaledObject("orphan-scaler", "sie-worker-gone") });

      const record = await planKedaFreeze(kube.api, NS);
      // Planning changes nothing: the plan is journaled before applyKedaFreeze.
      expect(pauseAnnotations(await kube.api.getCustomObject(SCALED_OBJECTS, NS, "sie-worker-l4-scaler")).pausedReplicas).toBeNull();
      await applyKedaFreeze(kube.api, record);
      expect(record.entries).toEqual([
        { name: "sie-worker-a100-scaler", target: { kind: "StatefulSet", name: "sie-worker-a100" }, replicas: 4, prior: { pausedReplicas: "4", paused: null } },
        {
          name: "sie-worker-cpu-scaler",
          target: { kind: "StatefulSet", name: "sie-worker-cpu" },
          replicas: 2,
          prior: { pausedReplicas: null, paused: "true" },
        },
        { name: "sie-worker-l4-scaler", target: { kind: "StatefulSet", name: "sie-worker-l4" }, replicas: 3, prior: { pausedReplicas: null, paused: null } },
      ]);
      expect(record.skipped).toEqual([{ name: "orphan-scaler", reason: "target StatefulSet/sie-worker-gone not found" }]);

      const annotationsOf = async (name: string) => (await kube.api.getCustomObject(SCALED_OBJECTS, NS, name)).metadata?.annotations ?? {};
      expect(pauseAnnotations({ metadata: { annotations: await annotationsOf("sie-worker-l4-scaler") } })).toEqual({ pausedReplicas: "3", paused: null });
      expect(await annotationsOf("sie-worker-cpu-scaler")).toMatchObject({ [KEDA.pausedReplicasAnnotation]: "2", [KEDA.pausedAnnotation]: "true" });
      const before = { a100: await annotationsOf("sie-worker-a100-scaler"), cpu: { [KEDA.pausedAnnotation]: "true" } };

      // The record survives a JSON round trip (it lives in the journal between freeze and thaw).
      const thawed = await thawKeda(kube.api, JSON.parse(JSON.stringify(record)));
      expect(thawed).toEqual({ restored: ["sie-worker-a100-scaler", "sie-worker-cpu-scaler", "sie-worker-l4-scaler"], missing: [] });
      expect(await annotationsOf("sie-worker-l4-scaler")).not.toHaveProperty([KEDA.pausedReplicasAnnotation]);
      expect(await annotationsOf("sie-worker-a100-scaler")).toEqual(before.a100);
      expect(await annotationsOf("sie-worker-a100-scaler")).toMatchObject({ [KEDA.pausedReplicasAnnotation]: "4", team: "ml" });
      expect(await annotationsOf("sie-worker-cpu-scaler")).toEqual(before.cpu);

      // Thaw is idempotent and tolerates a deleted ScaledObject.
      await custom.deleteNamespacedCustomObject({ ...SCALED_OBJECTS, namespace: NS, name: "sie-worker-l4-scaler" });
      expect(await thawKeda(kube.api, record)).toEqual({ restored: ["sie-worker-a100-scaler", "sie-worker-cpu-scaler"], missing: ["sie-worker-l4-scaler"] });
    });
  });

  describe("holds and waves", () => {
    it("holds workers and pauses deployments across the release update, then releases wave by wave and restores", async () => {
      await createWorker("l4", 2);
      await createWorker("cpu", 1);
      await createDeployment("gateway", 2);
      const oldRevision = (await kube.api.getStatefulSet(NS, "sie-worker-l4")).status?.currentRevision;

      const record = await planHolds(kube.api, NS, { statefulSets: ["sie-worker-l4", "sie-worker-cpu"], deployments: ["sie-gateway"] });
      await applyHolds(kube.api, record);
      expect(record).toEqual({
        namespace: NS,
        statefulSets: [
          { name: "sie-worker-l4", replicas: 2, priorPartition: 0 },
          { name: "sie-worker-cpu", replicas: 1, priorPartition: 0 },
        ],
        deployments: [{ name: "sie-gateway", priorPaused: false }],
      });
      expect(isHeld(await kube.api.getStatefulSet(NS, "sie-worker-l4"))).toBe(true);

      // The release update: every template changes at once; the real controllers hold them.
      const newRevision = await setWorkerTag("l4", "v0.3.2");
      await setWorkerTag("cpu", "v0.3.2");
      await setDeploymentTag("gateway", "v0.3.2");
      await sleep(2000);
      expect(newRevision).not.toBe(oldRevision);
      expect(await podsOnRevision("sie-worker-l4", newRevision)).toHaveLength(0);
      expect((await kube.api.listPods(NS, "app.kubernetes.io/component=gateway")).every((p) => p.spec?.containers?.[0]?.image?.endsWith(":v0.3.1"))).toBe(true);

      // Wave 1: the canary pool only.
      await releaseWave(kube.api, NS, { statefulSets: ["sie-worker-l4"] });
      expect(await rollout("StatefulSet", "sie-worker-l4")).toMatchObject({ status: "done", revision: newRevision });
      expect((await podsOnRevision("sie-worker-l4", newRevision)).map((p) => p.metadata?.name).sort()).toEqual(["sie-worker-l4-0", "sie-worker-l4-1"]);
      const cpuPods = await kube.api.listPods(NS, "sie.superlinked.com/pool=cpu");
      expect(cpuPods.every((p) => p.spec?.containers?.[0]?.image === workerImage("v0.3.1"))).toBe(true);

      // Wave 2: the rest; then the gateway.
      await releaseWave(kube.api, NS, { statefulSets: ["sie-worker-cpu"] });
      expect((await rollout("StatefulSet", "sie-worker-cpu")).status).toBe("done");
      const progress: string[] = [];
      await releaseWave(kube.api, NS, { deployments: ["sie-gateway"] });
      expect((await rollout("Deployment", "sie-gateway", { ...WAIT, onProgress: (p) => progress.push(p.reason) })).status).toBe("done");
      expect(progress.length).toBeGreaterThan(0);
      expect(
        (await kube.api.listPods(NS, "app.kubernetes.io/component=gateway"))
          .filter((p) => !p.metadata?.deletionTimestamp)
          .every((p) => p.spec?.containers?.[0]?.image?.endsWith(":v0.3.2")),
      ).toBe(true);

      expect(await restoreHolds(kube.api, record)).toEqual({
        restored: ["StatefulSet/sie-worker-l4", "StatefulSet/sie-worker-cpu", "Deployment/sie-gateway"],
        missing: [],
      });
      expect((await kube.api.getStatefulSet(NS, "sie-worker-l4")).spec?.updateStrategy?.rollingUpdate?.partition ?? 0).toBe(0);
      expect((await kube.api.getDeployment(NS, "sie-gateway")).spec?.paused ?? false).toBe(false);
    });

    it("restores a partition that was set before the hold", async () => {
      await createWorker("l4", 3);
      await kube.api.mergePatchStatefulSet(NS, "sie-worker-l4", { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } });
      const record = await planHolds(kube.api, NS, { statefulSets: ["sie-worker-l4"] });
      await applyHolds(kube.api, record);
      expect((await kube.api.getStatefulSet(NS, "sie-worker-l4")).spec?.updateStrategy?.rollingUpdate?.partition).toBe(3);
      await restoreHolds(kube.api, record);
      expect((await kube.api.getStatefulSet(NS, "sie-worker-l4")).spec?.updateStrategy?.rollingUpdate?.partition).toBe(1);
    });
  });

  describe("waitForRollout fails fast", () => {
    it("on a -crashloop tag, on first sight, with pod evidence", async () => {
      await createWorker("l4", 2);
      await setWorkerTag("l4", "v0.3.2-crashloop");
      const started = Date.now();
      const r = await rollout("StatefulSet", "sie-worker-l4");
      expect(r.status).toBe("failed");
      // kwok starts the pod straight into CrashLoopBackOff within a second; the first poll that sees it decides.
      expect(Date.now() - started).toBeLessThan(15_000);
      if (r.status !== "failed") return;
      expect(r.evidence[0]).toMatchObject({ reason: "CrashLoopBackOff", image: workerImage("v0.3.2-crashloop"), revision: r.revision });
      expect(r.reason).toMatch(/pod sie-worker-l4-\d CrashLoopBackOff/);
    });

    it("on a -pullerr tag", async () => {
      await createWorker("l4", 1);
      await setWorkerTag("l4", "v0.3.2-pullerr");
      const r = await rollout("StatefulSet", "sie-worker-l4");
      expect(r.status).toBe("failed");
      if (r.status === "failed") expect(["ErrImagePull", "ImagePullBackOff"]).toContain(r.evidence[0]?.reason);
    });

    it("on a -noready tag after notReadyAfterMs", async () => {
      await createWorker("l4", 1);
      await setWorkerTag("l4", "v0.3.2-noready");
      const r = await rollout("StatefulSet", "sie-worker-l4", { ...WAIT, notReadyAfterMs: 1000 });
      expect(r.status).toBe("failed");
      if (r.status === "failed") expect(r.evidence[0]).toMatchObject({ reason: "NotReady", message: expect.stringContaining("running but not Ready") });
    });

    it("on a crash-looping Deployment, using its newest ReplicaSet", async () => {
      await createDeployment("gateway", 2);
      await setDeploymentTag("gateway", "v0.3.2-crashloop");
      const r = await rollout("Deployment", "sie-gateway");
      expect(r.status).toBe("failed");
      if (r.status === "failed") expect(r.evidence[0]).toMatchObject({ reason: "CrashLoopBackOff", image: "ghcr.io/superlinked/sie-gateway:v0.3.2-crashloop" });
    });

    it("times out with the slow pods as evidence", async () => {
      await createWorker("l4", 1);
      await setWorkerTag("l4", "v0.3.2-noready");
      const r = await rollout("StatefulSet", "sie-worker-l4", { ...WAIT, timeoutMs: 3000 });
      expect(r.status).toBe("timeout");
      if (r.status === "timeout") expect(r.reason).toContain("gave up after");
    });
  });

  describe("deleteStuckPods", () => {
    it("unsticks an OrderedReady revert by deleting pods left on the bad revision", async () => {
      await createWorker("l4", 3, "OrderedReady");
      await setWorkerTag("l4", "v0.3.2-crashloop");
      const failed = await rollout("StatefulSet", "sie-worker-l4");
      expect(failed.status).toBe("failed");
      const badRevision = failed.revision!;

      // Before the template is reverted, deleting would only recreate broken pods: refused.
      const early = await deleteStuckPods(kube.api, NS, "sie-worker-l4", badRevision);
      expect(early.deleted).toEqual([]);
      expect(early.skippedReason).toContain("revert its template first");

      // The real StatefulSet controller does not replace a pod that never got Ready on the bad revision.
      await setWorkerTag("l4", "v0.3.1");
      await sleep(2000);
      const stuck = await podsOnRevision("sie-worker-l4", badRevision);
      expect(stuck.length).toBeGreaterThan(0);

      const journaled: string[][] = [];
      const res = await deleteStuckPods(kube.api, NS, "sie-worker-l4", badRevision, { beforeDelete: (names) => void journaled.push(names) });
      expect(res.deleted).toEqual(stuck.map((p) => p.metadata!.name!).sort());
      expect(journaled).toEqual([res.deleted]);

      expect((await rollout("StatefulSet", "sie-worker-l4")).status).toBe("done");
      const pods = await kube.api.listPods(NS, "sie.superlinked.com/pool=l4");
      expect(pods.filter((p) => !p.metadata?.deletionTimestamp).every((p) => podRevision(p) !== badRevision)).toBe(true);
    });
  });
});
