import { createHash } from "node:crypto";
import type { Json, KObject } from "../store.js";
import { stableStringify } from "../store.js";
import { T } from "../resources.js";
import type { SimContext } from "../context.js";
import { parseImage, type FaultName } from "../../cluster/faults.js";
import { scopedFault } from "../faultScopes.js";
import { schedule } from "./scheduler.js";
import { isTerminating } from "./workload.js";

interface PodRuntime {
  scheduledAt?: number;
  terminatingAt?: number;
  lastSchedulingMessage?: string;
  /** Event keys already emitted, so a state seen on many ticks is reported once. */
  emitted: Set<string>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

function hashOf(s: string, n: number): string {
  return createHash("sha256").update(s).digest("hex").slice(0, n);
}

/**
 * The fault that applies to one container: a forced per-pod fault wins over the image tag, and
 * the tag over a scoped fault (sim/faultScopes.ts: component/pool/version → fault).
 */
export function containerFault(ctx: SimContext, pod: KObject, image: string): FaultName | undefined {
  return ctx.faults.pods.get(pod.metadata.uid) ?? parseImage(image).fault ?? scopedFault(ctx, pod, image);
}

/**
 * Kubelet + scheduler simulation. Pod status is a pure function of the time since the pod was
 * scheduled and the container images' fault tags, so the same pod always tells the same story.
 */
export class PodController {
  private readonly runtime = new Map<string, PodRuntime>();

  constructor(private readonly ctx: SimContext) {
    ctx.store.on("restored", () => this.runtime.clear());
  }

  reconcile(): void {
    const seen = new Set<string>();
    for (const pod of this.ctx.store.list(T.pods)) {
      seen.add(pod.metadata.uid);
      this.reconcilePod(pod);
    }
    for (const uid of this.runtime.keys()) if (!seen.has(uid)) this.runtime.delete(uid);
  }

  private rt(pod: KObject): PodRuntime {
    let r = this.runtime.get(pod.metadata.uid);
    if (!r) {
      r = { emitted: new Set() };
      // After a simulator restart, a pod that was already running keeps running instead of
      // replaying its start-up.
      const running = (pod.status?.containerStatuses ?? []).some((c: Json) => c.state?.running);
      if (pod.spec?.nodeName) {
        r.scheduledAt = running ? this.ctx.now() - this.ctx.timings.podStartMs - this.ctx.timings.podReadyMs : this.ctx.now();
        if (running) for (const k of ["pulled", "started"]) r.emitted.add(k);
      }
      this.runtime.set(pod.metadata.uid, r);
    }
    return r;
  }

  private once(pod: KObject, r: PodRuntime, key: string, type: "Normal" | "Warning", reason: string, message: string): void {
    if (r.emitted.has(key)) return;
    r.emitted.add(key);
    this.ctx.events.record(pod, type, reason, message);
  }

  private reconcilePod(pod: KObject): void {
    const { ctx } = this;
    const r = this.rt(pod);
    const now = ctx.now();
    if (isTerminating(pod)) {
      r.terminatingAt ??= now;
      if (now - r.terminatingAt >= ctx.timings.podTerminateMs) {
        ctx.store.remove(T.pods, pod.metadata.namespace, pod.metadata.name);
        this.runtime.delete(pod.metadata.uid);
        return;
      }
      this.writeStatus(pod, terminatingStatus(pod, now));
      return;
    }
    if (!pod.spec?.nodeName) {
      const res = schedule(ctx.store, pod);
      if ("unschedulable" in res) {
        if (r.lastSchedulingMessage !== res.unschedulable) {
          r.lastSchedulingMessage = res.unschedulable;
          ctx.events.record(pod, "Warning", "FailedScheduling", res.unschedulable);
        }
        this.writeStatus(pod, {
          phase: "Pending",
          conditions: [cond(pod, "PodScheduled", "False", now, "Unschedulable", res.unschedulable)],
          qosClass: "BestEffort",
        });
        return;
      }
      const next = structuredClone(pod);
      next.spec.nodeName = res.node;
      next.metadata.resourceVersion = "";
      pod = ctx.store.update(T.pods, next);
      r.scheduledAt = now;
      ctx.events.record(pod, "Normal", "Scheduled", `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${res.node}`);
    }
    r.scheduledAt ??= now;
    this.writeStatus(pod, this.runningStatus(pod, r, now));
  }

  private runningStatus(pod: KObject, r: PodRuntime, now: number): Json {
    const t = now - (r.scheduledAt ?? now);
    const { podStartMs, podReadyMs, crashLoopMs, pullBackoffMs } = this.ctx.timings;
    const containers: Json[] = pod.spec?.containers ?? [];
    const statuses: Json[] = [];
    let allStarted = containers.length > 0;
    for (const c of containers) {
      const image: string = c.image ?? "";
      const fault = containerFault(this.ctx, pod, image);
      const startedAtMs = (r.scheduledAt ?? now) + podStartMs;
      const base = { name: c.name, image, restartCount: 0, ready: false, started: false };
      const running = (restarts: number, from: number) => ({
        ...base,
        imageID: `${parseImage(image).repository}@sha256:${hashOf(image, 64)}`,
        containerID: `containerd://${hashOf(pod.metadata.uid + c.name + restarts, 64)}`,
        restartCount: restarts,
        started: true,
        state: { running: { startedAt: iso(from) } },
      });
      if (t < podStartMs / 2 || (fault !== "pullerr" && t < podStartMs)) {
        this.once(pod, r, `pulling:${c.name}`, "Normal", "Pulling", `Pulling image "${image}"`);
        statuses.push({ ...base, state: { waiting: { reason: "ContainerCreating" } } });
        allStarted = false;
        continue;
      }
      if (fault === "pullerr") {
        const cycle = Math.floor((t - podStartMs / 2) / pullBackoffMs);
        const reason = cycle % 2 === 0 ? "ErrImagePull" : "ImagePullBackOff";
        const message =
          reason === "ErrImagePull"
            ? `failed to pull and unpack image "${image}": not found`
            : `Back-off pulling image "${image}"`;
        this.once(pod, r, `pull:${c.name}:${cycle}`, "Warning", reason === "ErrImagePull" ? "Failed" : "BackOff", reason === "ErrImagePull" ? `Failed to pull image "${image}": not found` : message);
        statuses.push({ ...base, state: { waiting: { reason, message } } });
        allStarted = false;
        continue;
      }
      this.once(pod, r, `pulled:${c.name}`, "Normal", "Pulled", `Successfully pulled image "${image}"`);
      this.once(pod, r, `started:${c.name}`, "Normal", "Started", `Started container ${c.name}`);
      if (fault === "crashloop") {
        const tc = t - podStartMs;
        const cycle = Math.floor(tc / crashLoopMs);
        const cycleStart = startedAtMs + cycle * crashLoopMs;
        const lastState =
          cycle > 0 ? { terminated: { exitCode: 1, reason: "Error", startedAt: iso(cycleStart - crashLoopMs), finishedAt: iso(cycleStart - crashLoopMs * 0.6) } } : {};
        if (tc - cycle * crashLoopMs < crashLoopMs * 0.4) {
          statuses.push({ ...running(cycle, cycleStart), lastState });
        } else {
          this.once(pod, r, `crash:${c.name}:${cycle}`, "Warning", "BackOff", `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}`);
          statuses.push({
            ...running(cycle, cycleStart),
            started: false,
            state: { waiting: { reason: "CrashLoopBackOff", message: `back-off restarting failed container=${c.name} pod=${pod.metadata.name}` } },
            lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: iso(cycleStart), finishedAt: iso(cycleStart + crashLoopMs * 0.4) } },
          });
        }
        continue;
      }
      const ready = t >= podStartMs + podReadyMs && fault !== "noready";
      if (fault === "noready" && t >= podStartMs + podReadyMs) {
        this.once(pod, r, `unhealthy:${c.name}`, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503");
      }
      statuses.push({ ...running(0, startedAtMs), ready, lastState: {} });
    }
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready);
    const scheduledAt = r.scheduledAt ?? now;
    const phase = allStarted || statuses.some((s) => s.started || s.restartCount > 0) ? "Running" : "Pending";
    return {
      phase,
      conditions: [
        cond(pod, "PodScheduled", "True", scheduledAt),
        cond(pod, "Initialized", "True", scheduledAt),
        cond(pod, "ContainersReady", allReady ? "True" : "False", now, allReady ? undefined : "ContainersNotReady", allReady ? undefined : notReadyMessage(statuses)),
        cond(pod, "Ready", allReady ? "True" : "False", now, allReady ? undefined : "ContainersNotReady", allReady ? undefined : notReadyMessage(statuses)),
      ],
      hostIP: `10.0.0.${(parseInt(hashOf(pod.spec?.nodeName ?? "", 2), 16) % 250) + 2}`,
      ...(phase === "Running" ? { podIP: podIP(pod) } : {}),
      startTime: iso(scheduledAt),
      containerStatuses: statuses,
      qosClass: "Burstable",
    };
  }

  private writeStatus(pod: KObject, status: Json): void {
    if (stableStringify(status) === stableStringify(pod.status)) return;
    const next = structuredClone(pod);
    next.status = status;
    next.metadata.resourceVersion = "";
    this.ctx.store.update(T.pods, next, "status");
  }
}

export function podIP(pod: KObject): string {
  const h = parseInt(hashOf(pod.metadata.uid, 4), 16);
  return `10.244.${(h >> 8) % 256}.${(h % 254) + 1}`;
}

function notReadyMessage(statuses: Json[]): string {
  return `containers with unready status: [${statuses.filter((s) => !s.ready).map((s) => s.name).join(" ")}]`;
}

/** A condition whose lastTransitionTime only moves when its status does. */
function cond(pod: KObject, type: string, status: string, now: number, reason?: string, message?: string): Json {
  const prev = (pod.status?.conditions ?? []).find((c: Json) => c.type === type);
  const lastTransitionTime = prev && prev.status === status ? prev.lastTransitionTime : iso(now);
  return { type, status, lastProbeTime: null, lastTransitionTime, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function terminatingStatus(pod: KObject, now: number): Json {
  const s = structuredClone(pod.status ?? {});
  s.containerStatuses = (s.containerStatuses ?? []).map((c: Json) => ({ ...c, ready: false }));
  s.conditions = (s.conditions ?? []).map((c: Json) =>
    c.type === "Ready" || c.type === "ContainersReady" ? cond(pod, c.type, "False", now, "ContainersNotReady", "pod is terminating") : c,
  );
  return s;
}
