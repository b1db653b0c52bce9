// Which pools run 0 workers once a run froze KEDA, and which probes a killed run may have left in effect.
import { describe, expect, it } from "vitest";
import { unverifiedPools, zeroReplicaPools } from "../../automation/plan/zeroReplicaPools.js";

const names = {
  namespace: "sie",
  fullname: "sie",
  gatewayDeployment: "sie-gateway",
  configDeployment: "sie-config",
  statefulSets: { l4: "sie-worker-l4", cpu: "sie-worker-cpu", big: "sie-worker-big" },
};
const holds = {
  namespace: "sie",
  statefulSets: [
    { name: "sie-worker-l4", replicas: 2, priorPartition: null },
    { name: "sie-worker-cpu", replicas: 0, priorPartition: null },
    { name: "sie-worker-big", replicas: 0, priorPartition: null },
  ],
  deployments: [],
};
const freeze = {
  namespace: "sie",
  entries: [
    { name: "sie-worker-l4-scaler", target: { kind: "StatefulSet", name: "sie-worker-l4" }, replicas: 2, prior: { pausedReplicas: null, paused: null } },
    { name: "sie-worker-cpu-scaler", target: { kind: "StatefulSet", name: "sie-worker-cpu" }, replicas: 0, prior: { pausedReplicas: null, paused: null } },
  ],
  skipped: [],
};

describe("zeroReplicaPools", () => {
  it("lists the pools held at 0 replicas, with the ScaledObject the run froze for them", () => {
    expect(zeroReplicaPools(names, holds, freeze)).toEqual([
      { pool: "cpu", statefulSet: "sie-worker-cpu", scaledObject: "sie-worker-cpu-scaler" },
      { pool: "big", statefulSet: "sie-worker-big" },
    ]);
    expect(zeroReplicaPools(names, holds)).toEqual([
      { pool: "cpu", statefulSet: "sie-worker-cpu" },
      { pool: "big", statefulSet: "sie-worker-big" },
    ]);
  });

  it("reports only the pools left unverified", () => {
    expect(
      unverifiedPools([
        { pool: "cpu", policy: "report", status: "unverified" },
        { pool: "big", policy: "probe", status: "verified" },
      ]),
    ).toEqual(["cpu"]);
  });
});
