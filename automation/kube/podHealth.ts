/**
 * Fail-fast pod checks. Pure. A pod of the new revision in CrashLoopBackOff or an image-pull
 * error will not heal by waiting, so one sighting fails the wave instead of burning the rollout
 * timeout. A pod that runs but never turns Ready (or never schedules) fails after a grace period,
 * since slow model loading looks the same for a while.
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { FAIL_FAST_WAITING_REASONS } from "../../core/defaults.js";
import type { PodEvidence } from "../../core/types.js";

export interface PodCheckOptions {
  now: number;
  /** Running-but-not-Ready (or unschedulable) for longer than this fails. */
  notReadyAfterMs: number;
  /** Waiting reasons that fail on first sight. */
  failFastReasons?: readonly string[];
}

/** Evidence if the pod is failing, undefined if it is fine or may still become fine. */
export function checkPod(pod: V1Pod, opts: PodCheckOptions): PodEvidence | undefined {
  const reasons = opts.failFastReasons ?? FAIL_FAST_WAITING_REASONS;
  const name = pod.metadata?.name ?? "?";
  const revision = podRevision(pod);
  const statuses: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];

  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && reasons.includes(waiting.reason)) {
      return evidence(name, waiting.reason, cs, pod, waiting.message ?? lastTerminationMessage(cs), revision);
    }
  }

  if (pod.status?.phase === "Failed") {
    const cs = statuses[0];
    return evidence(name, pod.status.reason ?? "Failed", cs, pod, pod.status.message, revision);
  }

  const conditions = pod.status?.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    const since = toMs(scheduled.lastTransitionTime) ?? toMs(pod.metadata?.creationTimestamp);
    if (since !== undefined && opts.now - since > opts.notReadyAfterMs) {
      return evidence(
        name,
        scheduled.reason ?? "Unschedulable",
        statuses[0],
        pod,
        `not scheduled for ${fmtSeconds(opts.now - since)}: ${scheduled.message ?? ""}`.trim(),
        revision,
      );
    }
    return undefined;
  }

  if (pod.status?.phase === "Running") {
    const ready = conditions.find((c) => c.type === "Ready");
    if (ready?.status !== "True") {
      const started = statuses.map((cs) => toMs(cs.state?.running?.startedAt)).filter((t): t is number => t !== undefined);
      const since = toMs(ready?.lastTransitionTime) ?? (started.length > 0 ? Math.max(...started) : undefined) ?? toMs(pod.status?.startTime);
      if (since !== undefined && opts.now - since > opts.notReadyAfterMs) {
        return evidence(name, "NotReady", statuses[0], pod, `running but not Ready for ${fmtSeconds(opts.now - since)}`, revision);
      }
    }
  }
  return undefined;
}

/** First failing pod's evidence for each failing pod, in name order. */
export function checkPods(pods: readonly V1Pod[], opts: PodCheckOptions): PodEvidence[] {
  return pods
    .map((p) => checkPod(p, opts))
    .filter((e): e is PodEvidence => e !== undefined)
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** StatefulSet pods carry controller-revision-hash, Deployment pods pod-template-hash. */
export function podRevision(pod: V1Pod): string | undefined {
  const labels = pod.metadata?.labels ?? {};
  return labels["controller-revision-hash"] ?? labels["pod-template-hash"];
}

function evidence(
  pod: string,
  reason: string,
  cs: V1ContainerStatus | undefined,
  p: V1Pod,
  message: string | undefined,
  revision: string | undefined,
): PodEvidence {
  const image = cs?.image ?? p.spec?.containers?.[0]?.image ?? "?";
  return {
    pod,
    reason,
    restartCount: cs?.restartCount ?? 0,
    image,
    ...(message ? { message } : {}),
    ...(revision ? { revision } : {}),
  };
}

function lastTerminationMessage(cs: V1ContainerStatus): string | undefined {
  const t = cs.lastState?.terminated;
  if (!t) return undefined;
  return [t.reason, t.exitCode !== undefined ? `exit code ${t.exitCode}` : undefined, t.message].filter(Boolean).join(", ") || undefined;
}

function toMs(t: Date | string | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function fmtSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
