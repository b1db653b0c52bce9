/**
 * The nodes' image cache, as kubelets keep it: a pod that waits for an image pull (pullTimes.ts:
 * it carries PULL_SECONDS_ANNOTATION, so kwok does not start it) starts at once when its node has
 * the image, and otherwise after its node has pulled it. A pull takes the pod's seconds, one per
 * (node, image) however many pods wait for it; when it ends the image is added to the Node's
 * `status.images`, the field a real kubelet reports its cache in, and every pod waiting for it on
 * that node is released: its pull annotations are removed and kwok starts it. So the chart's image
 * pre-pull DaemonSet saves its workers the pull, as on a real cluster.
 *
 * Pulls in flight are in memory only: after a restart, pods still waiting get a new pull, as a
 * restarted kubelet pulls again. The cache itself is the Node objects', so it survives restarts
 * and anyone can read it (`kubectl get node -o jsonpath='{.status.images}'`).
 */
import * as k8s from "@kubernetes/client-node";
import { isNotFound, type ClusterPicture } from "./poller.js";
import { PULL_IMAGE_ANNOTATION, PULL_SECONDS_ANNOTATION, pulledImageOf, waitsForPull } from "./pullTimes.js";
import { isWholeSeconds } from "./podTargets.js";

/** What a pulled worker image occupies on a node, for `status.images[].sizeBytes`. */
export const PULLED_IMAGE_BYTES = 8_000_000_000;

/** A pod waiting for its node to have `image`. */
export interface PullWaiter {
  namespace: string;
  name: string;
  /** spec.nodeName; undefined while the pod is not scheduled. */
  node?: string;
  image: string;
  /** How long its node takes to pull `image`. */
  seconds: number;
}

export interface PullStart {
  node: string;
  image: string;
  seconds: number;
}

/** What to do now: pods to release (their node has the image) and pulls to start. */
export interface PullPlan {
  release: PullWaiter[];
  start: PullStart[];
}

export const pullKey = (node: string, image: string): string => JSON.stringify([node, image]);

/**
 * Decides, for `waiting` (oldest first: the first pod of a pull names its seconds), which pods
 * to release and which pulls to start. A pod not yet scheduled, or on a node not listed in
 * `nodes` (node name → the images it has), waits; a pod whose node has its image is released;
 * one whose node pulls it already (`pulling`, keys from pullKey) waits for that pull; the others
 * start one pull per (node, image).
 */
export function planPulls(waiting: readonly PullWaiter[], nodes: ReadonlyMap<string, ReadonlySet<string>>, pulling: ReadonlySet<string>): PullPlan {
  const plan: PullPlan = { release: [], start: [] };
  const started = new Set<string>();
  for (const w of waiting) {
    const images = w.node === undefined ? undefined : nodes.get(w.node);
    if (w.node === undefined || !images) continue;
    if (images.has(w.image)) {
      plan.release.push(w);
      continue;
    }
    const key = pullKey(w.node, w.image);
    if (pulling.has(key) || started.has(key)) continue;
    started.add(key);
    plan.start.push({ node: w.node, image: w.image, seconds: w.seconds });
  }
  return plan;
}

/**
 * The pod's wait, if it carries the pull annotation and is not terminating. The image is the
 * annotation's, else the one the pod needs (pulledImageOf), else its first container's; a
 * seconds value that cannot be read counts as 0, so a hand-set typo does not keep the pod from
 * starting for ever.
 */
export function pullWaiter(pod: k8s.V1Pod): PullWaiter | undefined {
  if (!waitsForPull(pod) || pod.metadata?.deletionTimestamp) return undefined;
  const a = pod.metadata?.annotations ?? {};
  const namespace = pod.metadata?.namespace ?? "default";
  const image = a[PULL_IMAGE_ANNOTATION] || pulledImageOf(pod, namespace)?.image || pod.spec?.containers?.[0]?.image || "";
  const seconds = Number(a[PULL_SECONDS_ANNOTATION]);
  return {
    namespace,
    name: pod.metadata?.name ?? "",
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    image,
    seconds: isWholeSeconds(seconds) ? seconds : 0,
  };
}

/** The writes the cache needs; kubePullApi is the real cluster's. */
export interface PullApi {
  /** Removes the pod's pull annotations, so kwok starts it; a pod that is gone is no error. */
  release(namespace: string, name: string): Promise<void>;
  /** Adds `image` to the node's status.images, keeping the others; a node that is gone is no error. */
  cache(node: string, image: string): Promise<void>;
}

export function kubePullApi(kc: k8s.KubeConfig): PullApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  // Generated patch methods default to JSON Patch; these bodies are merge patches.
  const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
  const goneIsDone = (err: unknown) => {
    if (!isNotFound(err)) throw err;
  };
  // A merge patch replaces status.images whole, so node writes go one at a time, each reading what the previous one wrote.
  let nodeWrites: Promise<unknown> = Promise.resolve();
  return {
    async release(namespace, name) {
      const body = { metadata: { annotations: { [PULL_SECONDS_ANNOTATION]: null, [PULL_IMAGE_ANNOTATION]: null } } };
      await core.patchNamespacedPod({ namespace, name, body }, mergePatch).catch(goneIsDone);
    },
    cache(node, image) {
      const run = nodeWrites.then(async () => {
        const images = (await core.readNode({ name: node })).status?.images ?? [];
        if (images.some((i) => i.names?.includes(image))) return;
        const body = { status: { images: [...images, { names: [image], sizeBytes: PULLED_IMAGE_BYTES }] } };
        await core.patchNodeStatus({ name: node, body }, mergePatch);
      });
      nodeWrites = run.catch(() => undefined);
      return run.catch(goneIsDone);
    },
  };
}

interface Pull extends PullStart {
  startedAt: number;
  timer: NodeJS.Timeout;
  /** When its image was written to the node; until a listing begun later shows the node, this pull stands for it. */
  doneAt?: number;
}

/** A pull in flight, as the control API shows it. */
export interface PullInFlight extends PullStart {
  startedAt: string;
  endsAt: string;
}

export class ImagePulls {
  private readonly pulls = new Map<string, Pull>();
  /**
   * Pods released (`ns/name` → when the write ended; undefined while it runs), kept until a listing
   * begun later shows them, so a tick on an older picture does not write them again.
   */
  private readonly released = new Map<string, number | undefined>();
  private stopped = false;

  constructor(
    private readonly api: PullApi,
    private readonly picture: () => Pick<ClusterPicture, "listedAt" | "pulling" | "nodes">,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  inFlight(): PullInFlight[] {
    return [...this.pulls.values()]
      .filter((p) => p.doneAt === undefined)
      .map((p) => ({
        node: p.node,
        image: p.image,
        seconds: p.seconds,
        startedAt: new Date(p.startedAt).toISOString(),
        endsAt: new Date(p.startedAt + p.seconds * 1000).toISOString(),
      }));
  }

  /** Looks at the last picture: releases the pods whose node has their image, starts the pulls that are missing. */
  tick(): void {
    if (this.stopped) return;
    const pic = this.picture();
    for (const [key, p] of this.pulls) if (p.doneAt !== undefined && pic.listedAt > p.doneAt) this.pulls.delete(key);
    for (const [key, at] of this.released) if (at !== undefined && pic.listedAt > at) this.released.delete(key);
    const nodes = new Map<string, Set<string>>();
    for (const n of pic.nodes) nodes.set(n.metadata?.name ?? "", new Set((n.status?.images ?? []).flatMap((i) => i.names ?? [])));
    const pulling = new Set<string>();
    for (const [key, p] of this.pulls) {
      if (p.doneAt === undefined) pulling.add(key);
      else nodes.set(p.node, new Set([...(nodes.get(p.node) ?? []), p.image]));
    }
    const created = (p: k8s.V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
    const waiting = [...pic.pulling]
      .sort((a, b) => created(a) - created(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))
      .flatMap((p) => pullWaiter(p) ?? []);
    const plan = planPulls(waiting, nodes, pulling);
    for (const w of plan.release) this.release(w);
    for (const s of plan.start) this.start(s);
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pulls.values()) clearTimeout(p.timer);
    this.pulls.clear();
  }

  private release(w: PullWaiter): void {
    const key = `${w.namespace}/${w.name}`;
    if (this.released.has(key)) return;
    this.released.set(key, undefined);
    this.api.release(w.namespace, w.name).then(
      () => this.released.set(key, this.now()),
      (err: unknown) => {
        this.released.delete(key);
        this.log(`sie-fleet endpoints: could not start pod ${key} after its image pull: ${(err as Error).message} (trying again)`);
      },
    );
  }

  private start(s: PullStart): void {
    const key = pullKey(s.node, s.image);
    const pull: Pull = { ...s, startedAt: this.now(), timer: setTimeout(() => this.finish(key, pull), s.seconds * 1000) };
    this.pulls.set(key, pull);
  }

  private finish(key: string, pull: Pull): void {
    this.api.cache(pull.node, pull.image).then(
      () => {
        if (this.pulls.get(key) !== pull) return;
        pull.doneAt = this.now();
        this.tick();
      },
      (err: unknown) => {
        if (this.pulls.get(key) === pull) this.pulls.delete(key);
        this.log(`sie-fleet endpoints: could not add ${pull.image} to node ${pull.node}'s images: ${(err as Error).message} (its pods pull it again)`);
      },
    );
  }
}
