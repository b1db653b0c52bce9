/**
 * Reading rollouts. `waitForRollout` waits for one workload, failing fast: each poll reads
 * the workload and the pods of the revision it moves to; a pod in CrashLoopBackOff or an
 * image-pull error fails at once (waiting cannot fix it), a started pod that stays not Ready
 * fails once its readiness probe's window has passed since the first poll that saw it so, a pod
 * still starting or unschedulable fails after `notReadyAfterMs`, otherwise kubectl's completion
 * rules decide. The result carries pod evidence for the journal and the revert report; it never
 * throws for an unhealthy rollout. `readRollout` is one read without waiting, for preflight and
 * the verification suite: having seen nothing before, it judges by `notReadyAfterMs` alone.
 * Judging either as a gate is verify/rolloutGates.ts's job.
 */
import type { V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { abortError, systemClock } from "../../core/clock.js";
import { POLL_INTERVALS } from "../../core/defaults.js";
import type { Clock, PodEvidence } from "../../core/types.js";
import type { Workload } from "../../core/workloads.js";
import type { KubeApi } from "./api.js";
import { checkPods, trackStartedNotReady } from "./podHealth.js";
import { newRevisionPods } from "./pods.js";
import { rolloutStatus, type RolloutObject, type RolloutStatus, type WorkloadKind } from "./rolloutStatus.js";

export interface RolloutProgress {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  done: boolean;
  reason: string;
  revision: string | undefined;
  podsReady: number;
  podsTotal: number;
}

export interface WaitForRolloutOptions {
  timeoutMs: number;
  notReadyAfterMs: number;
  pollMs?: number;
  /** Called after every poll whose reason changed. */
  onProgress?: (p: RolloutProgress) => void;
  signal?: AbortSignal;
  clock?: Clock;
  failFastReasons?: readonly string[];
}

export type RolloutOutcome =
  | { status: "done"; reason: string; revision: string | undefined; durationMs: number }
  /** A pod of the new revision is failing; `evidence` names it. */
  | { status: "failed"; reason: string; revision: string | undefined; evidence: PodEvidence[]; durationMs: number }
  /** Not done within timeoutMs; evidence lists the pods that were not ready. */
  | { status: "timeout"; reason: string; revision: string | undefined; evidence: PodEvidence[]; durationMs: number }
  /** The rollout cannot complete (progress deadline exceeded, unsupported strategy). */
  | { status: "error"; reason: string; revision: string | undefined; durationMs: number };

export async function waitForRollout(kube: KubeApi, namespace: string, kind: WorkloadKind, name: string, opts: WaitForRolloutOptions): Promise<RolloutOutcome> {
  const clock = opts.clock ?? systemClock;
  const pollMs = opts.pollMs ?? POLL_INTERVALS.rolloutMs;
  const start = clock.now();
  let lastReason = "";
  let startedNotReadySince = new Map<string, number>();
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const obj = await readWorkload(kube, namespace, kind, name);
    const status = rolloutStatus(obj, kind);
    const observed = (obj.status?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0);
    // Before the controller observed the change, "new revision" still means the old one.
    const { revision, pods } = observed ? await newRevisionPods(kube, namespace, obj, kind) : { revision: undefined, pods: [] as V1Pod[] };
    const now = clock.now();
    const durationMs = now - start;

    startedNotReadySince = trackStartedNotReady(pods, now, startedNotReadySince);
    const failing = checkPods(pods, {
      now,
      notReadyAfterMs: opts.notReadyAfterMs,
      startedNotReadySince,
      ...(opts.failFastReasons ? { failFastReasons: opts.failFastReasons } : {}),
    });
    const ready = pods.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")).length;
    if (status.reason !== lastReason) {
      lastReason = status.reason;
      opts.onProgress?.({ kind, namespace, name, done: status.done, reason: status.reason, revision, podsReady: ready, podsTotal: pods.length });
    }

    if (failing.length > 0) {
      const first = failing[0]!;
      return {
        status: "failed",
        reason: `${kind.toLowerCase()} ${name}: pod ${first.pod} ${first.reason} (restarts ${first.restartCount}, image ${first.image})`,
        revision,
        evidence: failing,
        durationMs,
      };
    }
    if (status.error) return { status: "error", reason: status.reason, revision, durationMs };
    if (status.done) return { status: "done", reason: status.reason, revision, durationMs };
    if (durationMs >= opts.timeoutMs) {
      // Report everything unready, whatever the grace period, so the timeout says who was slow.
      const slow = checkPods(pods, { now, notReadyAfterMs: -1 });
      return { status: "timeout", reason: `${status.reason}; gave up after ${Math.round(durationMs / 1000)}s`, revision, evidence: slow, durationMs };
    }
    await clock.sleep(Math.min(pollMs, Math.max(0, opts.timeoutMs - durationMs)), opts.signal);
  }
}

/** The workload a rollout is judged on, read by its kind. */
export function readWorkload(kube: KubeApi, namespace: string, kind: Workload["kind"], name: string): Promise<V1StatefulSet | V1Deployment>;
export function readWorkload(kube: KubeApi, namespace: string, kind: WorkloadKind, name: string): Promise<RolloutObject>;
export function readWorkload(kube: KubeApi, namespace: string, kind: WorkloadKind, name: string): Promise<RolloutObject> {
  if (kind === "StatefulSet") return kube.getStatefulSet(namespace, name);
  if (kind === "Deployment") return kube.getDeployment(namespace, name);
  return kube.getDaemonSet(namespace, name);
}

export interface RolloutSnapshot {
  obj: RolloutObject;
  status: RolloutStatus;
  /** The revision the rollout moves to, and its pods. */
  revision: string | undefined;
  pods: V1Pod[];
  /** Pods of that revision failing now, given `notReadyAfterMs` of grace. */
  failing: PodEvidence[];
}

/** One read of a workload's rollout, without waiting: what preflight and the verification suite judge. */
export async function readRollout(kube: KubeApi, namespace: string, w: Pick<Workload, "kind" | "name">, notReadyAfterMs: number): Promise<RolloutSnapshot> {
  const obj = await readWorkload(kube, namespace, w.kind, w.name);
  const status = rolloutStatus(obj, w.kind);
  const { revision, pods } = await newRevisionPods(kube, namespace, obj, w.kind);
  return { obj, status, revision, pods, failing: checkPods(pods, { now: Date.now(), notReadyAfterMs }) };
}
