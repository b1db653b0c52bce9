// The nodes' image cache of the embedded cluster (cluster/endpoints/imagePulls.ts): which waiting
// pod is released, which pull starts, and the driver's timing against a fake API.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ImagePulls, planPulls, pullKey, pullWaiter, type PullApi, type PullWaiter } from "../../cluster/endpoints/imagePulls.js";
import { PULL_IMAGE_ANNOTATION, PULL_SECONDS_ANNOTATION } from "../../cluster/endpoints/pullTimes.js";

const V2 = "ghcr.io/superlinked/sie-server:v0.3.2-cuda12-default";
const V3 = "ghcr.io/superlinked/sie-server:v0.3.3-cuda12-default";

const waiter = (name: string, node: string | undefined, image = V2, seconds = 90): PullWaiter => ({
  namespace: "sie",
  name,
  ...(node ? { node } : {}),
  image,
  seconds,
});

describe("planPulls", () => {
  const nodes = new Map([
    ["n1", new Set([V2])],
    ["n2", new Set<string>()],
  ]);

  it("releases a pod whose node has its image", () => {
    expect(planPulls([waiter("a", "n1")], nodes, new Set())).toEqual({ release: [waiter("a", "n1")], start: [] });
  });

  it("starts one pull per node and image, with the first pod's seconds", () => {
    const plan = planPulls([waiter("a", "n2", V2, 90), waiter("b", "n2", V2, 300), waiter("c", "n2", V3, 60), waiter("d", "n1", V3, 60)], nodes, new Set());
    expect(plan).toEqual({
      release: [],
      start: [
        { node: "n2", image: V2, seconds: 90 },
        { node: "n2", image: V3, seconds: 60 },
        { node: "n1", image: V3, seconds: 60 },
      ],
    });
  });

  it("waits while its node pulls the image already", () => {
    expect(planPulls([waiter("a", "n2")], nodes, new Set([pullKey("n2", V2)]))).toEqual({ release: [], start: [] });
    // Another node pulling the same image does not help.
    expect(planPulls([waiter("a", "n2")], nodes, new Set([pullKey("n1", V2)])).start).toEqual([{ node: "n2", image: V2, seconds: 90 }]);
  });

  it("waits while the pod is not scheduled, or its node is not listed", () => {
    expect(planPulls([waiter("a", undefined), waiter("b", "n9")], nodes, new Set())).toEqual({ release: [], start: [] });
  });
});

describe("pullWaiter", () => {
  const pod = (annotations: Record<string, string>, extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
    metadata: { name: "w-0", namespace: "sie", annotations, labels: { "app.kubernetes.io/component": "worker" }, ...extra },
    spec: { nodeName: "n1", containers: [{ name: "worker", image: V3 }] },
  });

  it("reads the pod's node, image and seconds", () => {
    expect(pullWaiter(pod({ [PULL_SECONDS_ANNOTATION]: "90", [PULL_IMAGE_ANNOTATION]: V2 }))).toEqual(waiter("w-0", "n1", V2, 90));
  });

  it("a hand-set annotation without the image pulls the pod's own; unreadable seconds count as 0", () => {
    expect(pullWaiter(pod({ [PULL_SECONDS_ANNOTATION]: "soon" }))).toEqual(waiter("w-0", "n1", V3, 0));
  });

  it("a pod without the annotation, or terminating, waits for nothing", () => {
    expect(pullWaiter(pod({}))).toBeUndefined();
    expect(pullWaiter(pod({ [PULL_SECONDS_ANNOTATION]: "90" }, { deletionTimestamp: new Date() }))).toBeUndefined();
  });
});

describe("ImagePulls", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A cluster whose picture is re-listed by hand (`relist`), so a test controls how stale it is. */
  function fakeCluster(nodeNames: string[]) {
    const images = new Map(nodeNames.map((n) => [n, [] as string[]]));
    const pods = new Map<string, V1Pod>();
    const released: string[] = [];
    let created = 0;
    let failCache = false;
    let picture = { listedAt: 0, pulling: [] as V1Pod[], nodes: [] as V1Node[] };
    const relist = () => {
      picture = {
        listedAt: Date.now(),
        pulling: [...pods.values()].filter((p) => p.metadata?.annotations?.[PULL_SECONDS_ANNOTATION]).map((p) => structuredClone(p)),
        nodes: [...images].map(([name, names]) => ({ metadata: { name }, status: { images: names.map((n) => ({ names: [n] })) } })),
      };
    };
    const api: PullApi = {
      release: async (namespace, name) => {
        const p = pods.get(`${namespace}/${name}`);
        if (p?.metadata?.annotations) delete p.metadata.annotations[PULL_SECONDS_ANNOTATION];
        released.push(name);
      },
      cache: async (node, image) => {
        if (failCache) throw new Error("conflict");
        images.get(node)?.push(image);
      },
    };
    const addPod = (name: string, node: string, seconds = 90, image = V2) => {
      pods.set(`sie/${name}`, {
        metadata: {
          name,
          namespace: "sie",
          creationTimestamp: new Date(Date.now() + created++),
          annotations: { [PULL_SECONDS_ANNOTATION]: String(seconds), [PULL_IMAGE_ANNOTATION]: image },
        },
        spec: { nodeName: node, containers: [{ name: "worker", image }] },
      });
    };
    const logs: string[] = [];
    const pulls = new ImagePulls(
      api,
      () => picture,
      (l) => logs.push(l),
    );
    return { pulls, addPod, relist, released, images, logs, failCache: (v: boolean) => (failCache = v) };
  }

  it("the first pod on a node waits the pull; pods on that node afterwards start at once", async () => {
    const c = fakeCluster(["n1", "n2"]);
    c.addPod("prepull-n1", "n1", 90);
    c.addPod("worker-0", "n1", 90);
    c.relist();
    c.pulls.tick();
    expect(c.pulls.inFlight()).toMatchObject([{ node: "n1", image: V2, seconds: 90 }]);
    await vi.advanceTimersByTimeAsync(89_000);
    c.relist();
    c.pulls.tick();
    expect(c.released).toEqual([]);
    expect(c.pulls.inFlight()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    // Both pods waiting on n1 start when the pull ends, and the image is in the node's list.
    expect(c.released.sort()).toEqual(["prepull-n1", "worker-0"]);
    expect(c.images.get("n1")).toEqual([V2]);
    expect(c.pulls.inFlight()).toEqual([]);
    // A later worker on n1 starts at the next look; one on n2 pays its own pull.
    c.addPod("worker-1", "n1");
    c.addPod("worker-2", "n2");
    c.relist();
    c.pulls.tick();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.released).toContain("worker-1");
    expect(c.released).not.toContain("worker-2");
    expect(c.pulls.inFlight()).toMatchObject([{ node: "n2", image: V2 }]);
  });

  it("a picture listed before the pull ended neither starts it again nor releases its pods twice", async () => {
    const c = fakeCluster(["n1"]);
    c.addPod("worker-0", "n1", 10);
    c.relist();
    c.pulls.tick();
    await vi.advanceTimersByTimeAsync(9_500);
    c.relist();
    await vi.advanceTimersByTimeAsync(500);
    expect(c.released).toEqual(["worker-0"]);
    // The last picture is older than the pull's end: the pod still annotated, the node without the image.
    c.pulls.tick();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.pulls.inFlight()).toEqual([]);
    expect(c.images.get("n1")).toEqual([V2]);
    expect(c.released).toEqual(["worker-0"]);
    // From a picture listed afterwards on, the node's own list says.
    await vi.advanceTimersByTimeAsync(1);
    c.addPod("worker-1", "n1", 10);
    c.relist();
    c.pulls.tick();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.pulls.inFlight()).toEqual([]);
    expect(c.released).toContain("worker-1");
  });

  it("a pull whose image could not be written to the node is started again", async () => {
    const c = fakeCluster(["n1"]);
    c.failCache(true);
    c.addPod("worker-0", "n1", 5);
    c.relist();
    c.pulls.tick();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.released).toEqual([]);
    expect(c.logs.join("\n")).toContain(`could not add ${V2} to node n1's images: conflict`);
    c.failCache(false);
    c.pulls.tick();
    expect(c.pulls.inFlight()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.released).toEqual(["worker-0"]);
  });

  it("stop() drops the pulls in flight; nothing is released afterwards", async () => {
    const c = fakeCluster(["n1"]);
    c.addPod("worker-0", "n1", 5);
    c.relist();
    c.pulls.tick();
    c.pulls.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    c.pulls.tick();
    expect(c.released).toEqual([]);
    expect(c.images.get("n1")).toEqual([]);
  });
});
