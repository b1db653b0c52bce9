// The capacity arithmetic of the upgrade's preflight, by hand: taints, per-node fit and
// the verdicts with the sentences people read.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { assessPoolCapacity, workersOnNode, type NodeView, type PoolDemand } from "../../automation/plan/capacity/poolCapacity.js";
import { ADMISSION_TOLERATIONS, blockingTaints, tolerates } from "../../automation/plan/capacity/tolerations.js";
import { nodeView, podRequests, workerView } from "../../automation/plan/capacity/nodes.js";

const GI = 2 ** 30;
const GPU = "nvidia.com/gpu";
const GPU_TAINT = { key: GPU, value: "present", effect: "NoSchedule" };

/** An A100 worker as the chart renders it: 8 CPU, 64Gi, one GPU. */
const a100 = (over: Partial<PoolDemand> = {}): PoolDemand => ({
  pool: "a100",
  selector: { "sie-fleet/gpu": "a100" },
  tolerations: [{ key: GPU, operator: "Exists", effect: "NoSchedule" }],
  perWorker: { cpu: 8, memory: 64 * GI, [GPU]: 1, pods: 1 },
  replicas: 3,
  surge: 0,
  ...over,
});

const node = (name: string, over: Partial<NodeView> = {}): NodeView => ({
  name,
  ready: true,
  unschedulable: false,
  taints: [GPU_TAINT],
  allocatable: { cpu: 11.8, memory: 85 * GI, [GPU]: 1, pods: 110 },
  usedByOthers: {},
  ...over,
});

describe("taints", () => {
  it("tolerates by key with Exists, by key and value with Equal, any key with an empty Exists", () => {
    expect(tolerates({ key: GPU, operator: "Exists", effect: "NoSchedule" }, GPU_TAINT)).toBe(true);
    expect(tolerates({ key: GPU, operator: "Equal", value: "present" }, GPU_TAINT)).toBe(true);
    expect(tolerates({ key: GPU, operator: "Equal", value: "absent" }, GPU_TAINT)).toBe(false);
    expect(tolerates({ key: GPU, operator: "Exists", effect: "NoExecute" }, GPU_TAINT)).toBe(false);
    expect(tolerates({ operator: "Exists" }, GPU_TAINT)).toBe(true);
  });

  it("a node just back from NotReady still carries NoExecute taints every pod tolerates", () => {
    const lingering = [GPU_TAINT, { key: "node.kubernetes.io/not-ready", effect: "NoExecute" }];
    expect(blockingTaints(lingering, [{ key: GPU, operator: "Exists" }, ...ADMISSION_TOLERATIONS])).toEqual([]);
  });

  it("only NoSchedule and NoExecute taints nobody tolerates block", () => {
    const taints = [GPU_TAINT, { key: "maintenance", effect: "NoSchedule" }, { key: "spot", effect: "PreferNoSchedule" }];
    expect(blockingTaints(taints, [{ key: GPU, operator: "Exists" }])).toEqual([{ key: "maintenance", effect: "NoSchedule" }]);
  });
});

describe("workers per node", () => {
  it("is the scarcest resource after what other pods request", () => {
    expect(workersOnNode(node("a", { allocatable: { cpu: 16, memory: 256 * GI, [GPU]: 4, pods: 110 } }), a100().perWorker)).toBe(2);
    expect(workersOnNode(node("a", { usedByOthers: { [GPU]: 1 } }), a100().perWorker)).toBe(0);
    expect(workersOnNode(node("a", { allocatable: { cpu: 11.8, memory: 85 * GI, pods: 110 } }), a100().perWorker)).toBe(0);
  });

  it("does not lose a worker to floating point", () => {
    expect(workersOnNode({ allocatable: { cpu: 0.3 }, usedByOthers: {} }, { cpu: 0.1 })).toBe(3);
  });
});

describe("assessPoolCapacity", () => {
  it("passes when the usable nodes hold every running worker again", () => {
    const r = assessPoolCapacity(a100(), [node("a"), node("b"), node("c")], []);
    expect(r).toMatchObject({ ok: true, fit: 3, problems: [] });
    expect(r.message).toBe("pool a100: 3 workers fit: room for 3 on 3 node(s) labelled sie-fleet/gpu=a100");
  });

  it("names a NotReady node the others can do without, and passes", () => {
    const r = assessPoolCapacity(a100({ replicas: 2 }), [node("a"), node("b"), node("c", { ready: false, notReadyReason: "Ready=False" })], []);
    expect(r.ok).toBe(true);
    expect(r.message).toBe("pool a100: 2 workers fit: room for 2 on 2 node(s) labelled sie-fleet/gpu=a100 (1 node(s) NotReady: c (Ready=False))");
  });

  it("counts a NotReady node out and names it", () => {
    const r = assessPoolCapacity(a100(), [node("a"), node("b"), node("c", { ready: false, notReadyReason: "Ready=Unknown, NodeStatusUnknown" })], []);
    expect(r.ok).toBe(false);
    expect(r.message).toBe(
      "pool a100: 3 workers need 3 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 2 allocatable (1 node(s) NotReady: c (Ready=Unknown, NodeStatusUnknown))",
    );
  });

  it("a worker on a NotReady node is a problem of its own", () => {
    const r = assessPoolCapacity(a100({ replicas: 1 }), [node("a", { ready: false, notReadyReason: "Ready=False" }), node("b")], [{ pod: "w-0", node: "a" }]);
    expect(r.ok).toBe(false);
    expect(r.fit).toBe(1);
    expect(r.workersOnNotReadyNodes).toEqual([{ pod: "w-0", node: "a" }]);
    expect(r.problems).toEqual(["worker w-0 is on node a, which is NotReady (Ready=False); a rollout would wait on that pod until the node is back"]);
  });

  it("cordoned and tainted nodes take no new pod", () => {
    const r = assessPoolCapacity(
      a100({ replicas: 2 }),
      [node("a", { unschedulable: true }), node("b", { taints: [GPU_TAINT, { key: "drain", effect: "NoExecute" }] }), node("c")],
      [],
    );
    expect(r.message).toBe(
      "pool a100: 2 workers need 2 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 1 allocatable (1 node(s) cordoned: a; 1 node(s) tainted: b (drain:NoExecute))",
    );
  });

  it("what other pods request is not the pool's; its own workers' room is", () => {
    const r = assessPoolCapacity(a100({ replicas: 2 }), [node("a", { usedByOthers: { [GPU]: 1 } }), node("b")], [{ pod: "w-0", node: "b" }]);
    expect(r.message).toBe(
      "pool a100: 2 workers need 2 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 1 free (2 allocatable, 1 requested by other pods)",
    );
  });

  it("a pool at zero needs room for its probe worker, and says so", () => {
    expect(assessPoolCapacity(a100({ replicas: 0, surge: 1 }), [node("a")], [])).toMatchObject({ ok: true, fit: 1 });
    const r = assessPoolCapacity(a100({ replicas: 0, surge: 1 }), [node("a", { usedByOthers: { [GPU]: 1 } })], []);
    expect(r.message).toBe(
      "pool a100: 1 worker (0 running + 1 probe) needs 1 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 0 free (1 allocatable, 1 requested by other pods)",
    );
    expect(assessPoolCapacity(a100({ replicas: 0, surge: 0 }), [], [])).toMatchObject({ ok: true, message: "pool a100: runs 0 workers; nothing to place" });
  });

  it("an unschedulable worker is named with the scheduler's reason", () => {
    const r = assessPoolCapacity(
      a100({ replicas: 2 }),
      [node("a")],
      [
        { pod: "w-0", node: "a" },
        { pod: "w-1", unschedulable: "Unschedulable: 0/14 nodes are available: 1 Insufficient nvidia.com/gpu." },
      ],
    );
    expect(r.problems).toEqual([
      "worker w-1 is Pending, unschedulable: Unschedulable: 0/14 nodes are available: 1 Insufficient nvidia.com/gpu.",
      "2 workers need 2 nvidia.com/gpu, nodes labelled sie-fleet/gpu=a100 have 1 allocatable",
    ]);
  });

  it("no matching node at all", () => {
    expect(assessPoolCapacity(a100({ replicas: 1 }), [], []).message).toBe("pool a100: 1 worker needs nodes labelled sie-fleet/gpu=a100, and there are none");
  });

  it("room split across nodes that no single resource explains is reported per node", () => {
    // a has GPUs but too little memory, b memory but no free GPU: each resource alone has room, the nodes have none.
    const r = assessPoolCapacity(
      a100({ replicas: 1 }),
      [
        node("a", { allocatable: { cpu: 16, memory: 32 * GI, [GPU]: 2, pods: 110 } }),
        node("b", { allocatable: { cpu: 16, memory: 96 * GI, [GPU]: 1, pods: 110 }, usedByOthers: { [GPU]: 1 } }),
      ],
      [],
    );
    expect(r.fit).toBe(0);
    expect(r.message).toBe("pool a100: 1 worker does not fit: the 2 usable node(s) labelled sie-fleet/gpu=a100 have room for 0 (per node: a 0, b 0)");
  });

  it("a node pool that may still grow covers the difference (GKE/EKS autoscaling)", () => {
    const grows = assessPoolCapacity(a100({ replicas: 0, surge: 1, growth: { nodes: 2, workersPerNode: 1 } }), [], []);
    expect(grows).toMatchObject({ ok: true, fit: 0, growth: 2 });
    expect(grows.message).toBe(
      "pool a100: 1 worker (0 running + 1 probe) fit: room for 0 on 0 node(s) labelled sie-fleet/gpu=a100; the node pool must add room for 1 (it may add 2)",
    );
    const full = assessPoolCapacity(a100({ replicas: 3, growth: { nodes: 0, workersPerNode: 1 } }), [node("a")], []);
    expect(full.ok).toBe(false);
  });
});

describe("reading nodes and pods", () => {
  const pod = (over: Partial<V1Pod["spec"]> = {}, uid = "u1"): V1Pod => ({
    metadata: { name: "p", uid },
    spec: {
      containers: [
        { name: "a", resources: { requests: { cpu: "500m", memory: "1Gi" } } },
        { name: "b", resources: { requests: { cpu: "1" } } },
      ],
      ...over,
    },
  });

  it("sums containers, takes the larger init container, adds the overhead and one pod slot", () => {
    expect(podRequests(pod())).toEqual({ cpu: 1.5, memory: GI, pods: 1 });
    expect(podRequests(pod({ initContainers: [{ name: "i", resources: { requests: { cpu: "2", memory: "512Mi" } } }], overhead: { cpu: "100m" } }))).toEqual({
      cpu: 2.1,
      memory: GI,
      pods: 1,
    });
  });

  it("a node's view leaves the pool's own pods out of what others use", () => {
    const n: V1Node = {
      metadata: { name: "gke-a100-0" },
      spec: { taints: [GPU_TAINT], unschedulable: true },
      status: {
        allocatable: { cpu: "11800m", memory: "85Gi", [GPU]: "1", pods: "110" },
        conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady" }],
      },
    };
    const v = nodeView(n, [pod({}, "mine"), pod({}, "theirs")], new Set(["mine"]));
    expect(v).toMatchObject({ name: "gke-a100-0", ready: false, notReadyReason: "Ready=False, KubeletNotReady", unschedulable: true });
    expect(v.allocatable).toEqual({ cpu: 11.8, memory: 85 * GI, [GPU]: 1, pods: 110 });
    expect(v.usedByOthers).toEqual({ cpu: 1.5, memory: GI, pods: 1 });
  });

  it("a worker is unschedulable only while the scheduler says so", () => {
    const pending: V1Pod = {
      metadata: { name: "w-1" },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available" }] },
    };
    expect(workerView(pending)).toEqual({ pod: "w-1", unschedulable: "Unschedulable: 0/3 nodes are available" });
    expect(workerView({ metadata: { name: "w-0" }, spec: { nodeName: "a", containers: [] }, status: { phase: "Pending" } })).toEqual({ pod: "w-0", node: "a" });
  });
});
