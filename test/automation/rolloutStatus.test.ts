import type { V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { checkPod, checkPods } from "../../automation/kube/podHealth.js";
import { deploymentRolloutStatus, hasPartition, isHeld, rolloutStatus, statefulSetRolloutStatus } from "../../automation/kube/rolloutStatus.js";

/** A worker StatefulSet as the sie-cluster chart renders it, with status as the controller reports it. */
function sts(
  over: { replicas?: number; generation?: number; partition?: number | null; type?: string; status?: Partial<NonNullable<V1StatefulSet["status"]>> } = {},
): V1StatefulSet {
  const replicas = over.replicas ?? 2;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "sie-worker-l4", namespace: "sie", generation: over.generation ?? 3 },
    spec: {
      replicas,
      serviceName: "sie-worker",
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { "app.kubernetes.io/component": "worker", "sie.superlinked.com/pool": "l4" } },
      template: { spec: { containers: [{ name: "server", image: "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default" }] } },
      updateStrategy:
        over.type === "OnDelete"
          ? { type: "OnDelete" }
          : { type: "RollingUpdate", ...(over.partition === null ? {} : { rollingUpdate: { partition: over.partition ?? 0 } }) },
    },
    status: {
      observedGeneration: 3,
      replicas,
      readyReplicas: replicas,
      currentReplicas: replicas,
      updatedReplicas: replicas,
      currentRevision: "sie-worker-l4-7d9f",
      updateRevision: "sie-worker-l4-7d9f",
      ...over.status,
    },
  };
}

function dep(over: { replicas?: number; generation?: number; paused?: boolean; status?: Partial<NonNullable<V1Deployment["status"]>> } = {}): V1Deployment {
  const replicas = over.replicas ?? 2;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "sie-gateway", namespace: "sie", generation: over.generation ?? 5 },
    spec: {
      replicas,
      paused: over.paused ?? false,
      selector: { matchLabels: { "app.kubernetes.io/component": "gateway" } },
      template: { spec: { containers: [{ name: "gateway", image: "ghcr.io/superlinked/sie-gateway:v0.3.2" }] } },
    },
    status: {
      observedGeneration: 5,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
      ...over.status,
    },
  };
}

describe("StatefulSet rollout status (kubectl rules)", () => {
  it("done when observed, all ready, partition 0 and all updated", () => {
    expect(statefulSetRolloutStatus(sts())).toMatchObject({ done: true });
  });
  it("waits for the controller to observe the new generation", () => {
    expect(statefulSetRolloutStatus(sts({ generation: 4 }))).toMatchObject({ done: false, reason: expect.stringContaining("observe generation 4") });
    expect(statefulSetRolloutStatus(sts({ status: { observedGeneration: 0 } }))).toMatchObject({ done: false });
  });
  it("waits while pods are not ready", () => {
    expect(statefulSetRolloutStatus(sts({ status: { readyReplicas: 1 } }))).toMatchObject({
      done: false,
      reason: expect.stringContaining("1 of 2 pods ready"),
    });
  });
  it("with a partition, counts only the pods that must update", () => {
    const s = sts({ partition: 0, status: { updatedReplicas: 1, updateRevision: "new", currentRevision: "old" } });
    expect(statefulSetRolloutStatus(s)).toMatchObject({ done: false, reason: expect.stringContaining("1 of 2 pods updated") });
    // Held: partition = replicas, nothing has to update.
    const held = sts({ partition: 2, status: { updatedReplicas: 0, updateRevision: "new", currentRevision: "old" } });
    expect(statefulSetRolloutStatus(held)).toMatchObject({ done: true, reason: expect.stringContaining("partition 2") });
    expect(isHeld(held)).toBe(true);
    expect(isHeld(s)).toBe(false);
  });
  it("held means every pod kept back; a partition below replicas is partitioned, not held", () => {
    const partial = sts({ replicas: 3, partition: 1 });
    expect(isHeld(partial)).toBe(false);
    expect(hasPartition(partial)).toBe(true);
    expect(isHeld(sts({ replicas: 3, partition: 3 }))).toBe(true);
    expect(hasPartition(sts({ replicas: 3, partition: 0 }))).toBe(false);
    expect(hasPartition(sts({ partition: null }))).toBe(false);
  });
  it("without rollingUpdate, compares revisions", () => {
    expect(statefulSetRolloutStatus(sts({ partition: null, status: { updateRevision: "new", currentRevision: "old", updatedReplicas: 1 } }))).toMatchObject({
      done: false,
      reason: expect.stringContaining("revision new"),
    });
  });
  it("is done immediately with zero replicas", () => {
    expect(
      statefulSetRolloutStatus(sts({ replicas: 0, status: { readyReplicas: 0, updatedReplicas: 0, updateRevision: "n", currentRevision: "o" } })),
    ).toMatchObject({ done: true });
  });
  it("cannot follow OnDelete", () => {
    expect(statefulSetRolloutStatus(sts({ type: "OnDelete" }))).toMatchObject({ done: false, error: true });
  });
});

describe("Deployment rollout status (kubectl rules)", () => {
  it("done when updated, old replicas gone and available", () => {
    expect(deploymentRolloutStatus(dep())).toMatchObject({ done: true });
    expect(rolloutStatus(dep())).toMatchObject({ done: true });
  });
  it("waits for generation, updated, old-replica termination, availability in that order", () => {
    expect(deploymentRolloutStatus(dep({ generation: 6 })).reason).toContain("observe generation 6");
    expect(deploymentRolloutStatus(dep({ status: { updatedReplicas: 1 } })).reason).toContain("1 of 2 replicas run the new template");
    expect(deploymentRolloutStatus(dep({ status: { replicas: 3 } })).reason).toContain("1 old replica(s) still terminating");
    expect(deploymentRolloutStatus(dep({ status: { availableReplicas: 1 } })).reason).toContain("1 of 2 updated replicas available");
  });
  it("reports a progress deadline as an error", () => {
    const d = dep({
      status: {
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "x" has timed out progressing.' }],
      },
    });
    expect(deploymentRolloutStatus(d)).toMatchObject({ done: false, error: true });
  });
  it("says when it is paused", () => {
    expect(deploymentRolloutStatus(dep({ paused: true }))).toMatchObject({ done: false, reason: "deployment sie-gateway is paused" });
  });
});

const NOW = Date.parse("2026-03-01T10:00:00Z");
function pod(
  over: {
    phase?: string;
    ready?: boolean;
    readySince?: string;
    waiting?: { reason: string; message?: string };
    restarts?: number;
    scheduled?: { status: string; reason?: string; since: string };
  } = {},
): V1Pod {
  return {
    metadata: { name: "sie-worker-l4-1", labels: { "controller-revision-hash": "sie-worker-l4-8c1e" } },
    spec: { containers: [{ name: "server", image: "ghcr.io/superlinked/sie-server:v0.3.2-crashloop-cuda12-default" }] },
    status: {
      phase: over.phase ?? "Running",
      startTime: new Date(NOW - 600_000),
      conditions: [
        ...(over.scheduled
          ? [{ type: "PodScheduled", status: over.scheduled.status, reason: over.scheduled.reason, lastTransitionTime: new Date(over.scheduled.since) }]
          : []),
        { type: "Ready", status: over.ready ? "True" : "False", lastTransitionTime: new Date(over.readySince ?? NOW - 10_000) },
      ],
      containerStatuses: [
        {
          name: "server",
          image: "ghcr.io/superlinked/sie-server:v0.3.2-crashloop-cuda12-default",
          imageID: "",
          ready: over.ready ?? false,
          restartCount: over.restarts ?? 0,
          state: over.waiting ? { waiting: over.waiting } : { running: { startedAt: new Date(NOW - 10_000) } },
          lastState: over.restarts ? { terminated: { exitCode: 1, reason: "Error" } } : {},
        },
      ],
    },
  } as V1Pod;
}

describe("checkPod (fail fast)", () => {
  const opts = { now: NOW, notReadyAfterMs: 60_000 };
  it("CrashLoopBackOff fails on first sight with evidence", () => {
    expect(checkPod(pod({ waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container" }, restarts: 3 }), opts)).toEqual({
      pod: "sie-worker-l4-1",
      reason: "CrashLoopBackOff",
      restartCount: 3,
      image: "ghcr.io/superlinked/sie-server:v0.3.2-crashloop-cuda12-default",
      message: "back-off 10s restarting failed container",
      revision: "sie-worker-l4-8c1e",
    });
  });
  it.each(["ImagePullBackOff", "ErrImagePull"])("%s fails on first sight", (reason) => {
    expect(checkPod(pod({ phase: "Pending", waiting: { reason } }), opts)?.reason).toBe(reason);
  });
  it("ContainerCreating is not a failure", () => {
    expect(checkPod(pod({ phase: "Pending", waiting: { reason: "ContainerCreating" } }), opts)).toBeUndefined();
  });
  it("Running but not Ready fails only after the grace period", () => {
    expect(checkPod(pod({ readySince: new Date(NOW - 30_000).toISOString() }), opts)).toBeUndefined();
    expect(checkPod(pod({ readySince: new Date(NOW - 90_000).toISOString() }), opts)).toMatchObject({
      reason: "NotReady",
      message: "running but not Ready for 90s",
    });
  });
  it("a Ready pod passes", () => {
    expect(checkPod(pod({ ready: true }), opts)).toBeUndefined();
  });
  it("an unschedulable pod fails after the grace period", () => {
    const p = pod({ phase: "Pending", scheduled: { status: "False", reason: "Unschedulable", since: new Date(NOW - 120_000).toISOString() } });
    expect(checkPod(p, opts)).toMatchObject({ reason: "Unschedulable" });
  });
  it("checkPods returns only failing pods", () => {
    expect(checkPods([pod({ ready: true }), pod({ waiting: { reason: "CrashLoopBackOff" } })], opts)).toHaveLength(1);
  });
});
