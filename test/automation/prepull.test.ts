import type { V1DaemonSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describePrepull, judgePrepull } from "../../automation/actions/upgrade/prepull.js";
import type { RolloutOutcome } from "../../automation/kube/index.js";
import { daemonSetRolloutStatus, rolloutStatus } from "../../automation/kube/rolloutStatus.js";
import type { GateResult } from "../../core/types.js";
import { imagePrepullDaemonSet } from "../../core/workloads.js";

/** A pool's pre-pull DaemonSet as the sie-cluster chart renders it, with status as the controller reports it. */
function ds(over: { generation?: number; type?: string; status?: Partial<NonNullable<V1DaemonSet["status"]>> } = {}): V1DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "sie-image-prepull-l4", namespace: "sie", generation: over.generation ?? 2 },
    spec: {
      selector: { matchLabels: { "app.kubernetes.io/component": "image-prepull", "sie.superlinked.com/pool": "l4" } },
      template: { spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] } },
      updateStrategy: over.type === "OnDelete" ? { type: "OnDelete" } : { type: "RollingUpdate" },
    },
    status: {
      observedGeneration: 2,
      currentNumberScheduled: 3,
      desiredNumberScheduled: 3,
      numberMisscheduled: 0,
      numberReady: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
      ...over.status,
    },
  };
}

describe("daemonSetRolloutStatus (kubectl rollout status rules)", () => {
  it("is done when every node runs an updated, available pod", () => {
    expect(daemonSetRolloutStatus(ds())).toMatchObject({ done: true, reason: "daemonset sie-image-prepull-l4 rolled out (3 node(s))" });
    expect(rolloutStatus(ds(), "DaemonSet").done).toBe(true);
  });

  it("waits for the controller to observe a new generation", () => {
    expect(daemonSetRolloutStatus(ds({ generation: 3 }))).toMatchObject({ done: false, reason: expect.stringContaining("observe generation 3") });
  });

  it("waits for nodes still on the old template, then for availability", () => {
    expect(daemonSetRolloutStatus(ds({ status: { updatedNumberScheduled: 1 } })).reason).toContain("1 of 3 nodes run the new template");
    expect(daemonSetRolloutStatus(ds({ status: { numberAvailable: 2 } })).reason).toContain("2 of 3 updated pods available");
  });

  it("is done at once with no node to run on (a pool at zero nodes)", () => {
    const empty = ds({ status: { desiredNumberScheduled: 0, currentNumberScheduled: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberReady: 0 } });
    expect(daemonSetRolloutStatus(empty).done).toBe(true);
  });

  it("cannot follow OnDelete", () => {
    expect(daemonSetRolloutStatus(ds({ type: "OnDelete" }))).toMatchObject({ done: false, error: true });
  });
});

describe("judgePrepull", () => {
  const gate = (status: GateResult["status"], message: string): GateResult => ({
    name: "rollout:DaemonSet/sie-image-prepull-l4",
    status,
    message,
    evidence: {},
    durationMs: 1,
  });
  const failed = (reason: string): RolloutOutcome => ({
    status: "failed",
    reason: `daemonset sie-image-prepull-l4: pod p ${reason}`,
    revision: undefined,
    evidence: [{ pod: "sie-image-prepull-l4-abcde", reason, restartCount: 0, image: "ghcr.io/superlinked/sie-server:v0.3.4-cuda12-default" }],
    durationMs: 1,
  });

  it("passes a rolled-out pre-pull", () => {
    const g = gate("pass", "rolled out");
    expect(judgePrepull({ status: "done", reason: "rolled out", revision: undefined, durationMs: 1 }, g)).toBe(g);
  });

  it("fails the wave on an image that cannot be pulled", () => {
    for (const reason of ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]) {
      const j = judgePrepull(failed(reason), gate("fail", `pod p ${reason}`));
      expect(j.status).toBe("fail");
      expect(j.message).toMatch(/^the new worker image cannot be pulled: /);
    }
  });

  it("only warns when the pre-pull could not run or was slow: the workers pull themselves", () => {
    const unscheduled = judgePrepull(failed("Unschedulable"), gate("fail", "pod p Unschedulable"));
    expect(unscheduled.status).toBe("warn");
    expect(unscheduled.message).toContain("the wave goes on");
    const slow = judgePrepull(
      { status: "timeout", reason: "gave up after 300s", revision: undefined, evidence: [], durationMs: 300_000 },
      gate("fail", "gave up"),
    );
    expect(slow.status).toBe("warn");
  });
});

describe("describePrepull", () => {
  it("names the pools whose workers pull the image themselves", () => {
    const names = { l4: imagePrepullDaemonSet({ fullname: "sie" }, "l4") };
    expect(names.l4).toBe("sie-image-prepull-l4");
    expect(describePrepull(["l4"], names)).toContain("every pool's wave waits for its pre-pull DaemonSet (l4)");
    expect(describePrepull(["l4", "a100-80gb"], names)).toContain("a100-80gb has no pre-pull DaemonSet");
    expect(describePrepull([], {})).toBe("");
  });
});
