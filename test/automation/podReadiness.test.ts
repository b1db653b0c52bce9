// A not-Ready pod is judged the way its own probes say: still starting (startup probe not passed)
// only under the notReadyAfterMs cap, started but not Ready by its readiness probe's window,
// counted from the first poll that saw it so.
import type { V1Container, V1Pod, V1Probe, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { KubeApi } from "../../automation/kube/api.js";
import { checkPod, isStartedNotReady, readinessWindowMs, trackStartedNotReady } from "../../automation/kube/podHealth.js";
import { waitForRollout } from "../../automation/kube/rollout.js";
import type { Clock } from "../../core/types.js";

// The sie-cluster chart's readiness probes.
const WORKER_PROBE: V1Probe = { httpGet: { path: "/readyz", port: 8080 }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 };
const GATEWAY_PROBE: V1Probe = { httpGet: { path: "/readyz", port: 8080 }, periodSeconds: 5, failureThreshold: 3 };

const NOW = Date.parse("2026-03-01T10:00:00Z");
const UID = "7f3c1a2e";
const REVISION = "sie-worker-l4-8c1e";

function pod(over: { containers?: V1Container[]; started?: (boolean | undefined)[]; ready?: boolean; readySince?: number; phase?: string } = {}): V1Pod {
  const containers = over.containers ?? [{ name: "server", image: "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default", readinessProbe: WORKER_PROBE }];
  const started = over.started ?? containers.map(() => true);
  return {
    metadata: { name: "sie-worker-l4-0", uid: UID, labels: { "controller-revision-hash": REVISION } },
    spec: { containers },
    status: {
      phase: over.phase ?? "Running",
      startTime: new Date(NOW - 600_000),
      conditions: [{ type: "Ready", status: over.ready ? "True" : "False", lastTransitionTime: new Date(over.readySince ?? NOW - 10_000) }],
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        image: c.image ?? "",
        imageID: "",
        ready: over.ready ?? false,
        restartCount: 0,
        ...(started[i] === undefined ? {} : { started: started[i] }),
        state: { running: { startedAt: new Date(NOW - 300_000) } },
      })),
    },
  };
}

const seenAt = (t: number): ReadonlyMap<string, number> => new Map([[UID, t]]);

describe("readinessWindowMs: initial delay + failureThreshold × period + one period", () => {
  it("the chart's probes: workers 45 s, gateway and config 20 s", () => {
    expect(readinessWindowMs(pod())).toBe(45_000);
    expect(readinessWindowMs(pod({ containers: [{ name: "gateway", readinessProbe: GATEWAY_PROBE }] }))).toBe(20_000);
  });
  it("unset fields take Kubernetes' defaults (delay 0, period 10, threshold 3), as does no probe at all", () => {
    expect(readinessWindowMs(pod({ containers: [{ name: "a", readinessProbe: { httpGet: { path: "/", port: 80 } } }] }))).toBe(40_000);
    expect(readinessWindowMs(pod({ containers: [{ name: "a" }] }))).toBe(40_000);
    expect(readinessWindowMs({ metadata: { name: "bare" } })).toBe(40_000);
  });
  it("the largest window over the pod's containers", () => {
    const containers = [
      { name: "gateway", readinessProbe: GATEWAY_PROBE },
      { name: "sidecar", readinessProbe: { initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 2 } },
    ];
    expect(readinessWindowMs(pod({ containers }))).toBe(90_000);
  });
});

describe("checkPod on a started pod that is not Ready", () => {
  const opts = { now: NOW, notReadyAfterMs: 120_000 };
  it("fails once observed not Ready for longer than its readiness window", () => {
    expect(checkPod(pod(), { ...opts, startedNotReadySince: seenAt(NOW - 44_000) })).toBeUndefined();
    expect(checkPod(pod(), { ...opts, startedNotReadySince: seenAt(NOW - 46_000) })).toMatchObject({
      pod: "sie-worker-l4-0",
      reason: "NotReady",
      message: "started but not Ready for 46s (readiness probe allows 45s)",
      revision: REVISION,
    });
  });
  it("without an observation behaves as before: only the cap, from the Ready condition's transition", () => {
    expect(checkPod(pod({ readySince: NOW - 46_000 }), opts)).toBeUndefined();
    expect(checkPod(pod({ readySince: NOW - 121_000 }), opts)).toMatchObject({ reason: "NotReady", message: "running but not Ready for 121s" });
  });
  it("never later than the cap", () => {
    expect(checkPod(pod(), { now: NOW, notReadyAfterMs: 30_000, startedNotReadySince: seenAt(NOW - 31_000) })).toMatchObject({
      reason: "NotReady",
      message: "started but not Ready for 31s (readiness probe allows 45s, capped at 30s)",
    });
  });
  it("started unset counts as started", () => {
    expect(isStartedNotReady(pod({ started: [undefined] }))).toBe(true);
    expect(checkPod(pod({ started: [undefined] }), { ...opts, startedNotReadySince: seenAt(NOW - 46_000) })?.reason).toBe("NotReady");
  });
  it("a container still starting keeps the pod under the cap, whatever was observed", () => {
    const starting = pod({
      containers: [
        { name: "server", readinessProbe: WORKER_PROBE },
        { name: "sidecar", readinessProbe: GATEWAY_PROBE },
      ],
      started: [false, true],
    });
    expect(isStartedNotReady(starting)).toBe(false);
    expect(checkPod(starting, { ...opts, startedNotReadySince: seenAt(NOW - 100_000) })).toBeUndefined();
    expect(checkPod(pod({ started: [false], readySince: NOW - 121_000 }), opts)?.message).toBe("running but not Ready for 121s");
  });
  it("a Ready pod passes", () => {
    expect(checkPod(pod({ ready: true }), { ...opts, startedNotReadySince: seenAt(NOW - 100_000) })).toBeUndefined();
  });
});

describe("trackStartedNotReady", () => {
  it("keeps the first sighting, and forgets a pod once it is Ready, still starting or gone", () => {
    const first = trackStartedNotReady([pod()], NOW, new Map());
    expect(first.get(UID)).toBe(NOW);
    expect(trackStartedNotReady([pod()], NOW + 10_000, first).get(UID)).toBe(NOW);
    expect(trackStartedNotReady([pod({ ready: true })], NOW + 10_000, first).size).toBe(0);
    expect(trackStartedNotReady([pod({ started: [false] })], NOW + 10_000, first).size).toBe(0);
    expect(trackStartedNotReady([], NOW + 10_000, first).size).toBe(0);
    expect(trackStartedNotReady([pod({ phase: "Pending" })], NOW, new Map()).size).toBe(0);
  });
});

describe("waitForRollout remembers when it first saw a pod started but not Ready", () => {
  it("fails the poll after the readiness window has passed since that sighting", async () => {
    let now = NOW;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const sts: V1StatefulSet = {
      metadata: { name: "sie-worker-l4", generation: 2 },
      spec: { replicas: 1, selector: { matchLabels: { "sie.superlinked.com/pool": "l4" } }, serviceName: "sie-worker", template: {} },
      status: { observedGeneration: 2, replicas: 1, readyReplicas: 0, updatedReplicas: 1, updateRevision: REVISION, currentRevision: "sie-worker-l4-5b7a" },
    };
    // Its startup probe passes 20 s into the wait; the Ready condition dates from before the wait.
    const kube = {
      getStatefulSet: async () => sts,
      listPods: async () => [pod({ started: [now - NOW >= 20_000], readySince: NOW - 5_000 })],
    } as unknown as KubeApi;

    const r = await waitForRollout(kube, "sie", "StatefulSet", "sie-worker-l4", { timeoutMs: 600_000, notReadyAfterMs: 120_000, pollMs: 10_000, clock });
    expect(r).toMatchObject({ status: "failed", durationMs: 70_000 });
    if (r.status === "failed") expect(r.evidence[0]?.message).toBe("started but not Ready for 50s (readiness probe allows 45s)");
  });
});
